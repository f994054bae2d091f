-- The relay's claim: the first pending events, in sequence order, that no
-- live claim holds, leaving out the aggregates whose first pending event
-- is not among them (another relay has it in hand: the later ones wait for
-- it). $1 is now, $2 the claim's end, $3 the most events to claim, all in
-- microseconds but the last.
--
-- The first pending events are found by walking tailor_outbox_pending in
-- order and stopping after $3 rows, however many are pending. The planner,
-- left to itself, would rather fetch every pending row and sort them
-- whenever it expects fewer pending rows than $3, which is always on a
-- table it has no statistics for, and often on one it has, since the
-- share of pending rows changes faster than statistics follow: then a
-- relay that falls behind sorts the whole backlog on every pass and falls
-- further behind. enable_sort = off, for this function's statements only,
-- leaves the index walk as the only plan.
--
-- The function is PL/pgSQL, which keeps the statement's plan for the
-- session, rather than SQL, whose statements are planned again on every
-- call.
CREATE FUNCTION tailor_outbox_claim(bigint, bigint, integer) RETURNS SETOF tailor_outbox
LANGUAGE plpgsql VOLATILE SET enable_sort = off AS $$
BEGIN
	RETURN QUERY
	WITH c AS MATERIALIZED (
		SELECT o.seq, o.aggregate FROM tailor_outbox o
		WHERE o.sent_us IS NULL AND (o.claimed_until_us IS NULL OR o.claimed_until_us < $1)
		ORDER BY o.seq LIMIT $3 FOR UPDATE SKIP LOCKED),
	f AS MATERIALIZED (SELECT c.aggregate, min(c.seq) AS first FROM c GROUP BY c.aggregate)
	UPDATE tailor_outbox t SET claimed_until_us = $2
	WHERE t.seq IN (SELECT c.seq FROM c JOIN f ON f.aggregate = c.aggregate
		WHERE f.first = (SELECT min(o.seq) FROM tailor_outbox o WHERE o.aggregate = f.aggregate AND o.sent_us IS NULL))
	RETURNING t.*;
END
$$;
