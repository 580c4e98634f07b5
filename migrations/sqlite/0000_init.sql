CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`action` text NOT NULL,
	`actor_user_id` integer,
	`target_user_id` integer,
	`target_username` text,
	`client_ip` text,
	`request_id` text,
	`details` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_at` ON `audit_log` (`at`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`entity_type` text NOT NULL,
	`entity_id` integer NOT NULL,
	`work_order_id` integer,
	`from_status` text,
	`to_status` text,
	`occurred_at` integer NOT NULL,
	`recorded_at` integer NOT NULL,
	`actor_user_id` integer,
	`request_id` text,
	`data` text
);
--> statement-breakpoint
CREATE INDEX `events_entity` ON `events` (`entity_type`,`entity_id`,`id`);--> statement-breakpoint
CREATE TABLE `gateway_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `id_sequences` (
	`name` text PRIMARY KEY NOT NULL,
	`next_local` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`user_id` integer NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_created` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `issues` (
	`id` integer PRIMARY KEY NOT NULL,
	`work_order_stage_id` integer NOT NULL,
	`type` text NOT NULL,
	`description` text NOT NULL,
	`status` text NOT NULL,
	`created_by` integer NOT NULL,
	`created_at` integer NOT NULL,
	`acknowledged_at` integer,
	`acknowledged_by` integer,
	`resolved_at` integer,
	`resolved_by` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`work_order_stage_id`) REFERENCES `work_order_stages`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `issues_stage` ON `issues` (`work_order_stage_id`);--> statement-breakpoint
CREATE INDEX `issues_status` ON `issues` (`status`,`id`);--> statement-breakpoint
CREATE TABLE `machine_latest` (
	`machine_id` integer NOT NULL,
	`reading_type` text NOT NULL,
	`value` real,
	`unit` text,
	`quality` text NOT NULL,
	`source_ts` integer NOT NULL,
	PRIMARY KEY(`machine_id`, `reading_type`)
);
--> statement-breakpoint
CREATE TABLE `machine_readings` (
	`id` integer PRIMARY KEY NOT NULL,
	`machine_id` integer NOT NULL,
	`reading_type` text NOT NULL,
	`value` real,
	`unit` text,
	`quality` text NOT NULL,
	`reason` text,
	`source_ts` integer NOT NULL,
	`recorded_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `readings_machine_ts` ON `machine_readings` (`machine_id`,`source_ts`);--> statement-breakpoint
CREATE INDEX `readings_recorded` ON `machine_readings` (`recorded_at`);--> statement-breakpoint
CREATE TABLE `machines` (
	`id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`machine_type` text NOT NULL,
	`location` text,
	`status` text NOT NULL,
	`source` text NOT NULL,
	`last_seen_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `machines_name_unique` ON `machines` (`name`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `sessions_user` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `sessions_expires` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `stage_assignments` (
	`stage_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`assigned_by` integer,
	`assigned_at` integer NOT NULL,
	PRIMARY KEY(`stage_id`, `user_id`),
	FOREIGN KEY (`stage_id`) REFERENCES `work_order_stages`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `assignments_user` ON `stage_assignments` (`user_id`,`stage_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_lower` ON `users` (lower("username"));--> statement-breakpoint
CREATE TABLE `work_order_stages` (
	`id` integer PRIMARY KEY NOT NULL,
	`work_order_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`stage_name` text NOT NULL,
	`planned_start` integer,
	`planned_end` integer,
	`actual_start` integer,
	`actual_end` integer,
	`status` text NOT NULL,
	`qty_good` integer,
	`qty_scrap` integer,
	`paused_ms` integer DEFAULT 0 NOT NULL,
	`paused_since` integer,
	`status_changed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`work_order_id`) REFERENCES `work_orders`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stages_wo_seq` ON `work_order_stages` (`work_order_id`,`seq`);--> statement-breakpoint
CREATE INDEX `stages_status` ON `work_order_stages` (`status`);--> statement-breakpoint
CREATE TABLE `work_orders` (
	`id` integer PRIMARY KEY NOT NULL,
	`product_code` text NOT NULL,
	`lot_no` text NOT NULL,
	`qty` integer NOT NULL,
	`planned_start` integer NOT NULL,
	`planned_end` integer NOT NULL,
	`status` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `work_orders_planned` ON `work_orders` (`planned_start`,`id`);--> statement-breakpoint
CREATE INDEX `work_orders_status` ON `work_orders` (`status`,`planned_start`,`id`);--> statement-breakpoint
CREATE INDEX `work_orders_product` ON `work_orders` (`product_code`);--> statement-breakpoint
CREATE INDEX `work_orders_lot` ON `work_orders` (`lot_no`);