// Unity operations dashboard. Plain JavaScript, no framework, nothing loaded from outside.
// The operator token is entered once, kept in sessionStorage (this tab only) and sent in the
// Authorization header; it never goes into a URL. Actions are POST/DELETE requests carrying
// that header (never cookies), so another site cannot make the browser perform them.
// Every value from the server is written with textContent: nothing it sends is parsed as HTML.
'use strict';

const TOKEN_KEY = 'unity.operator_token';
const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);
let timer = null;
let lastOk = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch('/dashboard/api/' + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit', cache: 'no-store',
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error((data.error && data.error.message) || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 2500);
}

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}

function fillTable(id, rows, columns, empty) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    body.append(el('tr', {}, el('td', { class: 'empty', colspan: String(columns), text: empty })));
    return;
  }
  for (const r of rows) body.append(r);
}

function num(v) { return el('td', { class: 'num', text: String(v) }); }

function renderTiles(d) {
  const sum = (k) => d.queues.reduce((a, q) => a + q[k], 0);
  const tiles = [['Ready', sum('ready')], ['Running', sum('running')], ['Delayed', sum('delayed')],
                 ['Failed', sum('failed')], ['Workers', d.workers.length]];
  $('tiles').replaceChildren(...tiles.map(([label, value]) =>
    el('div', { class: 'tile' + (label === 'Failed' && value > 0 ? ' bad' : ''),
                'data-testid': 'tile-' + label.toLowerCase() },
       el('div', { class: 'label', text: label }), el('div', { class: 'value', text: String(value) }))));
}

function renderQueues(d) {
  fillTable('queues', d.queues.map((q) => el('tr', { 'data-testid': 'queue-' + q.queue },
    el('td', { text: q.queue }), num(q.ready), num(q.running), num(q.delayed), num(q.failed))),
    5, 'No jobs waiting.');
}

function renderWorkers(d) {
  fillTable('workers', d.workers.map((w) => el('tr', { 'data-testid': 'worker-' + w.name },
    el('td', { text: w.name }), el('td', { text: w.host }), el('td', { text: w.queues.join(', ') }),
    num(w.concurrency), num(w.jobs_done), el('td', { text: ago(w.last_heartbeat) }))),
    6, 'No worker alive.');
}

async function act(button, method, path, body, done) {
  button.disabled = true;
  try {
    await api(method, path, body);
    toast(done);
    await refresh();
  } catch (e) {
    toast(e.message);
  } finally {
    button.disabled = false;
  }
}

function renderTenants(d) {
  fillTable('tenants', d.tenants.map((t) => {
    const weight = el('input', { type: 'number', min: '1', max: '1000', value: String(t.weight),
                                 'aria-label': 'weight of ' + t.name });
    const pause = el('button', { type: 'button', text: t.paused ? 'Resume' : 'Pause' });
    pause.addEventListener('click', () => act(pause, 'POST',
      'tenants/' + t.tenant_id + (t.paused ? '/resume' : '/pause'), undefined,
      (t.paused ? 'Resumed ' : 'Paused ') + t.name));
    const setWeight = el('button', { type: 'button', text: 'Set' });
    setWeight.addEventListener('click', () => act(setWeight, 'POST',
      'tenants/' + t.tenant_id + '/weight', { weight: Number(weight.value) },
      t.name + ': weight ' + weight.value));
    return el('tr', { 'data-testid': 'tenant-' + t.tenant_id },
      el('td', { text: t.name + ' #' + t.tenant_id }), num(t.ready), num(t.running), num(t.delayed),
      num(t.failed),
      el('td', {}, el('span', { class: 'chip ' + (t.paused ? 'paused' : 'active'),
                                'data-testid': 'tenant-state', text: t.paused ? 'paused' : 'active' })),
      el('td', {}, el('div', { class: 'actions' }, weight, setWeight)),
      el('td', {}, pause));
  }), 8, 'No tenant.');
}

function renderFailed(d) {
  const list = $('failed');
  list.replaceChildren();
  if (d.failed.length === 0) {
    list.append(el('li', { class: 'muted', text: 'No failed job.' }));
    return;
  }
  for (const f of d.failed) {
    const retry = el('button', { type: 'button', class: 'primary', text: 'Retry' });
    retry.addEventListener('click', () => act(retry, 'POST', 'failed/' + f.id + '/retry', undefined,
                                              'Job ' + f.id + ' queued again'));
    const forget = el('button', { type: 'button', class: 'danger', text: 'Forget' });
    forget.addEventListener('click', () => act(forget, 'DELETE', 'failed/' + f.id, undefined,
                                               'Job ' + f.id + ' forgotten'));
    list.append(el('li', { 'data-testid': 'failed-' + f.id },
      el('div', { class: 'row' },
        el('div', { class: 'what' },
          el('strong', { text: f.type }), ' ',
          el('span', { class: 'muted', text: 'tenant ' + f.tenant_id + ' · ' + f.queue + ' · ' +
                                               f.attempts + ' attempt(s) · ' + ago(f.failed_at) })),
        el('div', { class: 'actions' }, retry, forget)),
      el('div', { class: 'exception', text: f.exception }),
      el('details', {}, el('summary', { class: 'muted', text: 'payload' }),
         el('pre', { text: JSON.stringify(f.payload, null, 2) }))));
  }
}

function renderEvents(d) {
  fillTable('events', d.events.map((e) => el('tr', {},
    el('td', { text: ago(e.occurred_at) }), el('td', { text: String(e.tenant_id) }),
    el('td', { text: e.type }), el('td', { text: e.aggregate || '' }))), 4, 'No recent event.');
}

function path(points, max) {
  return points.map((v, i) => (i ? 'L' : 'M') + (i * 720 / 59).toFixed(1) + ' ' +
                              (210 - (v / max) * 190).toFixed(1)).join(' ');
}

function renderChart(d) {
  const svg = $('chart');
  const ns = 'http://www.w3.org/2000/svg';
  const mk = (tag, attrs) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  };
  svg.replaceChildren();
  const queues = Object.keys(d.throughput.queues);
  let max = 1;
  let maxWait = 1;
  for (const q of queues) {
    for (const v of d.throughput.queues[q].completed) max = Math.max(max, v);
    for (const v of d.throughput.queues[q].wait_ms) maxWait = Math.max(maxWait, v);
  }
  for (let i = 0; i <= 4; i++) {
    const y = 210 - i * 190 / 4;
    svg.append(mk('line', { x1: 0, x2: 720, y1: y, y2: y, class: 'grid-line' }));
  }
  const legend = $('chart-legend');
  legend.replaceChildren();
  queues.forEach((q, i) => {
    const series = 's' + (i % 5);
    const line = mk('path', { d: path(d.throughput.queues[q].completed, max), class: series });
    line.append(mk('title', {}));
    line.firstChild.textContent = q + ': jobs completed per minute';
    svg.append(line);
    svg.append(mk('path', { d: path(d.throughput.queues[q].wait_ms, maxWait), class: 'wait' }));
    legend.append(el('span', {}, el('i', { class: series }), q + ' done/min'));
  });
  legend.append(el('span', {}, el('i', { class: 'wait' }),
                   'avg wait (peak ' + Math.round(maxWait) + ' ms)'));
  legend.prepend(el('span', { text: 'peak ' + max + ' jobs/min' }));
}

function render(d) {
  renderTiles(d);
  renderChart(d);
  renderQueues(d);
  renderWorkers(d);
  renderTenants(d);
  renderFailed(d);
  renderEvents(d);
}

function setStatus(ok, text) {
  $('status').hidden = false;
  $('status').classList.toggle('stale', !ok);
  $('status-text').textContent = text;
}

async function refresh() {
  try {
    const d = await api('GET', 'overview');
    lastOk = Date.now();
    render(d);
    setStatus(true, 'live · ' + new Date(lastOk).toLocaleTimeString());
  } catch (e) {
    if (e.status === 401 || e.status === 403) return signOut('Token refused: ' + e.message);
    setStatus(false, 'reconnecting…');
  }
}

function poll() {
  clearTimeout(timer);
  timer = setTimeout(async () => { await refresh(); if (sessionStorage.getItem(TOKEN_KEY)) poll(); },
                     POLL_MS);
}

function showApp(on) {
  $('signin').hidden = on;
  $('app').hidden = !on;
  $('sign-out').hidden = !on;
  if (!on) $('status').hidden = true;
}

function signOut(message) {
  clearTimeout(timer);
  sessionStorage.removeItem(TOKEN_KEY);
  showApp(false);
  $('signin-error').textContent = message || '';
}

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    const d = await api('GET', 'overview');
    $('signin-error').textContent = '';
    showApp(true);
    render(d);
    setStatus(true, 'live');
    poll();
  } catch (e) {
    signOut(e.status === 401 || e.status === 403 ? 'Token refused: ' + e.message : e.message);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token').value.trim();
    $('token').value = '';
    signIn(token);
  });
  $('sign-out').addEventListener('click', () => signOut(''));
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
});
