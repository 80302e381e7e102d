-- The real-time streams of `unity serve` read a tenant's new notifications once per wake for all
-- the tenant's open streams (not once per stream): the tenant's notifications in creation order.
CREATE INDEX notifications_recent ON notifications (tenant_id, created_at, id);
