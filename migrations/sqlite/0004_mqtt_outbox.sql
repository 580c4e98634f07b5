-- MQTT store-and-forward queue. Triggers fill it in the same transaction that inserts the
-- reading or event, so no code path can store one without queueing it. The queue holds only a
-- reference: the payload is built from the joined rows when it is sent. Rows are queued only
-- while gateway_meta 'mqtt_outbox' is 'on' (set at start-up when MQTT_URL is configured), so a
-- gateway without a broker grows no queue. AUTOINCREMENT: seq never goes back, even when the
-- queue empties, so the publisher's cursor stays valid.
CREATE TABLE `mqtt_outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` integer NOT NULL,
	`ref_id` integer NOT NULL
);
--> statement-breakpoint
CREATE TRIGGER `machine_readings_mqtt_outbox` AFTER INSERT ON `machine_readings`
WHEN (SELECT `value` FROM `gateway_meta` WHERE `key` = 'mqtt_outbox') = 'on'
BEGIN
  INSERT INTO `mqtt_outbox` (`kind`, `ref_id`) VALUES (1, NEW.`id`);
END;
--> statement-breakpoint
CREATE TRIGGER `events_mqtt_outbox` AFTER INSERT ON `events`
WHEN (SELECT `value` FROM `gateway_meta` WHERE `key` = 'mqtt_outbox') = 'on'
BEGIN
  INSERT INTO `mqtt_outbox` (`kind`, `ref_id`) VALUES (2, NEW.`id`);
END;
