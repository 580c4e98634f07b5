ALTER TABLE `issues` ADD `legacy_id` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `issues_legacy_id` ON `issues` (`legacy_id`) WHERE "issues"."legacy_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `machine_readings` ADD `legacy_id` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `machine_readings_legacy_id` ON `machine_readings` (`legacy_id`) WHERE "machine_readings"."legacy_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `machines` ADD `legacy_id` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `machines_legacy_id` ON `machines` (`legacy_id`) WHERE "machines"."legacy_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `legacy_id` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `users_legacy_id` ON `users` (`legacy_id`) WHERE "users"."legacy_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `work_order_stages` ADD `legacy_id` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `work_order_stages_legacy_id` ON `work_order_stages` (`legacy_id`) WHERE "work_order_stages"."legacy_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `work_orders` ADD `legacy_id` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `work_orders_legacy_id` ON `work_orders` (`legacy_id`) WHERE "work_orders"."legacy_id" IS NOT NULL;