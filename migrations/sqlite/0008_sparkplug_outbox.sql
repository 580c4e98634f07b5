-- Sparkplug B store-and-forward queue (docs/adr/0019-sparkplug-edge-node.md). Same pattern as
-- mqtt_outbox (0004), its own table because the Sparkplug edge node has its own connection,
-- session and acknowledgements: a reading acknowledged by one broker session must not leave the
-- other's queue. Filled in the inserting transaction only while gateway_meta 'sparkplug_outbox'
-- is 'on' (set at start-up from MQTT_SPARKPLUG). AUTOINCREMENT: seq never goes back.
CREATE TABLE `sparkplug_outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`reading_id` integer NOT NULL
);
--> statement-breakpoint
CREATE TRIGGER `machine_readings_sparkplug_outbox` AFTER INSERT ON `machine_readings`
WHEN (SELECT `value` FROM `gateway_meta` WHERE `key` = 'sparkplug_outbox') = 'on'
BEGIN
  INSERT INTO `sparkplug_outbox` (`reading_id`) VALUES (NEW.`id`);
END;
