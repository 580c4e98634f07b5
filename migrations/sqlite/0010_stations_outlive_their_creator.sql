-- A station outlives the admin who marked it: stations.created_by loses its foreign key, so a user
-- deleted at HQ is deleted here too (the pull deletes that user's sessions and badge first; see
-- sync/pull.ts) instead of the delete being refused. Nothing references stations.
CREATE TABLE `__new_stations` (
	`id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_by` integer NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
INSERT INTO `__new_stations`(`id`, `name`, `token_hash`, `created_by`, `created_at`, `revoked_at`) SELECT `id`, `name`, `token_hash`, `created_by`, `created_at`, `revoked_at` FROM `stations`;--> statement-breakpoint
DROP TABLE `stations`;--> statement-breakpoint
ALTER TABLE `__new_stations` RENAME TO `stations`;--> statement-breakpoint
CREATE UNIQUE INDEX `stations_token_hash` ON `stations` (`token_hash`);
