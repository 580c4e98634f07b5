-- A stage's machine link (local to the box, not synced) goes with its stage or its machine. HQ deleting
-- a machine a stage ran on, or a work order whose stage named a machine, reaches the edge as a pulled
-- delete; the pull deletes synced children first, but stage_machines is not synced, and its plain
-- foreign keys refused the delete, setting it aside (docs/oee.md). SQLite changes a foreign key only
-- by rebuilding the table.
CREATE TABLE `__new_stage_machines` (
	`stage_id` integer PRIMARY KEY NOT NULL,
	`machine_id` integer NOT NULL,
	`set_at` integer NOT NULL,
	`set_by` integer,
	FOREIGN KEY (`stage_id`) REFERENCES `work_order_stages`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_stage_machines` (`stage_id`, `machine_id`, `set_at`, `set_by`) SELECT `stage_id`, `machine_id`, `set_at`, `set_by` FROM `stage_machines`;
--> statement-breakpoint
DROP TABLE `stage_machines`;
--> statement-breakpoint
ALTER TABLE `__new_stage_machines` RENAME TO `stage_machines`;
--> statement-breakpoint
CREATE INDEX `stage_machines_machine` ON `stage_machines` (`machine_id`);
