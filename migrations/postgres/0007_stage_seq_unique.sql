-- An edge holds at most one stage per (work order, seq) (its index stages_wo_seq). HQ refuses a
-- second live one too (unique_violation), so a plan written at HQ, say two planners adding a stage
-- to one work order at the same moment, never arrives as a row every edge must set aside. An HQ
-- that already holds such a pair fails this migration: renumber one of the two stages, then run
-- `gateway hq migrate` again.
CREATE UNIQUE INDEX work_order_stages_wo_seq ON work_order_stages (work_order_id, seq) WHERE NOT _deleted;
