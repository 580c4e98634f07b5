CREATE TABLE `downtimes` (
	`id` integer PRIMARY KEY NOT NULL,
	`machine_id` integer NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`state` text NOT NULL,
	`reason_code` text,
	`note` text,
	`reason_by` integer,
	`reason_at` integer,
	`issue_id` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `downtimes_machine_start` ON `downtimes` (`machine_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `downtimes_started` ON `downtimes` (`started_at`,`id`);--> statement-breakpoint
CREATE TABLE `gateway_runs` (
	`id` integer PRIMARY KEY NOT NULL,
	`started_at` integer NOT NULL,
	`alive_at` integer NOT NULL,
	`stopped_at` integer
);
--> statement-breakpoint
CREATE TABLE `stage_machines` (
	`stage_id` integer PRIMARY KEY NOT NULL,
	`machine_id` integer NOT NULL,
	`set_at` integer NOT NULL,
	`set_by` integer,
	FOREIGN KEY (`stage_id`) REFERENCES `work_order_stages`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `stage_machines_machine` ON `stage_machines` (`machine_id`);