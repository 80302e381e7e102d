'use strict';
// Adds the foreign-load fields of the peers' tables to a `unity-bench` result: the average
// CPU of processes not started by the benchmark (% of one vCPU) over each timed run, from the
// one-second samples of the peers' lib/cpu-sampler.js. Same computation as the peers'
// lib/report.js (otherLoad), which does it only for the peers it ran itself.
//
//   node bench/other_cpu.js SAMPLES.jsonl RESULT.json   (rewrites RESULT.json in place)
const fs = require('node:fs');

const [samplesFile, resultFile] = process.argv.slice(2);
const samples = fs
  .readFileSync(samplesFile, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const result = JSON.parse(fs.readFileSync(resultFile, 'utf8').trim().split('\n').pop());

function otherLoad(t0, t1) {
  if (!samples.length || !t0 || !t1) return null;
  let w = 0;
  let acc = 0;
  for (const x of samples) {
    const a = Math.max(t0, x.t - x.dt_ms);
    const b = Math.min(t1, x.t);
    if (b > a) {
      w += b - a;
      acc += (b - a) * x.other_cpu_pct;
    }
  }
  return w > 0 ? Math.round((10 * acc) / w) / 10 : null;
}

if (result.w1) {
  for (const r of result.w1.runs) {
    r.other_cpu_pct_enqueue = otherLoad(r.t_enqueue_start, r.t_drain_start);
    r.other_cpu_pct_drain = otherLoad(r.t_drain_start, r.t_drain_end);
  }
}
if (result.w2) for (const r of result.w2.runs) r.other_cpu_pct = otherLoad(r.t_start, r.t_end);
if (result.w3) result.w3.other_cpu_pct = otherLoad(result.w3.t_start, result.w3.t_end);
fs.writeFileSync(resultFile, JSON.stringify(result) + '\n');
