-- Station mode (docs/adr/0018-station-mode.md): stations an admin marked, badge + PIN per user,
-- and the station a session was opened on. All local to this box: none of these syncs to HQ.

CREATE TABLE `stations` (
	`id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_by` integer NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stations_token_hash` ON `stations` (`token_hash`);--> statement-breakpoint
CREATE TABLE `user_badges` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`badge` text NOT NULL,
	`pin_hash` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `user_badges_badge` ON `user_badges` (`badge`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `station_id` integer;