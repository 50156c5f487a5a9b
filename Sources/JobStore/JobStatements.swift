// The SQL behind JobQueue. Each state change and its job_events row form one statement, so
// they commit together; parameters are always bound, never spliced into the text.

enum Statements {
    static let columns = """
        id, kind, state, priority, payload, idempotency_key, study_id, attempt, max_attempts, run_after,
        lease_owner, lease_expires_at, errors, result, created_at, attempted_at, finalized_at
        """

    static let enqueue = PreparedStatement(name: "stdnet_enqueue", sql: """
        WITH inserted AS (
            INSERT INTO jobs (kind, payload, priority, max_attempts, idempotency_key, study_id, run_after, serial_key)
            VALUES ($1, $2::jsonb, $3, $4, $5, $6, now() + $7::bigint * interval '1 millisecond', $8)
            ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, detail)
            SELECT id, NULL, 'queued', 0, 'enqueued' FROM inserted
        )
        SELECT id FROM inserted
        """)

    static let findByIdempotencyKey = PreparedStatement(name: "stdnet_find_key", sql: """
        SELECT id FROM jobs WHERE idempotency_key = $1
        """)

    static let enqueueBatch = PreparedStatement(name: "stdnet_enqueue_batch", sql: """
        WITH inserted AS (
            INSERT INTO jobs (kind, payload, priority, max_attempts, idempotency_key, study_id, run_after, serial_key)
            SELECT kind, payload::jsonb, priority::smallint, max_attempts::integer, key, study::bigint,
                   now() + delay::bigint * interval '1 millisecond', serial_key
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                AS input (kind, payload, priority, max_attempts, key, study, delay, serial_key)
            ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, detail)
            SELECT id, NULL, 'queued', 0, 'enqueued' FROM inserted
        )
        SELECT id FROM inserted ORDER BY id
        """)

    /// A job with a serial key is claimable only while no job of its key runs and no older one
    /// waits: concurrent claimers all see that oldest job, and SKIP LOCKED gives it to one.
    /// attempted_at takes clock_timestamp(), the moment of the claim, because now() is the start
    /// of the transaction and a later claim could carry an earlier time.
    static let claim = PreparedStatement(name: "stdnet_claim", sql: """
        WITH next AS (
            SELECT id FROM jobs candidate
            WHERE state = 'queued' AND run_after <= now() AND ($4::text[] IS NULL OR kind = ANY ($4::text[]))
              AND (serial_key IS NULL OR NOT EXISTS (
                  SELECT 1 FROM jobs other
                  WHERE other.serial_key = candidate.serial_key
                    AND (other.state = 'running' OR (other.state = 'queued' AND other.id < candidate.id))))
            ORDER BY priority, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, lease_owner = $1,
                   lease_expires_at = now() + $3::bigint * interval '1 millisecond', attempted_at = clock_timestamp()
            FROM next WHERE jobs.id = next.id
            RETURNING jobs.id, jobs.kind, jobs.payload, jobs.attempt, jobs.max_attempts, jobs.study_id, jobs.priority
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, lease_owner, detail)
            SELECT id, 'queued', 'running', attempt, $1, 'claimed' FROM claimed
        )
        SELECT id, kind, payload, attempt, max_attempts, study_id FROM claimed ORDER BY priority, id
        """)

    static let heartbeat = PreparedStatement(name: "stdnet_heartbeat", sql: """
        UPDATE jobs SET lease_expires_at = now() + $4::bigint * interval '1 millisecond'
        FROM unnest($2::bigint[], $3::integer[]) AS held (job, attempt)
        WHERE jobs.id = held.job AND jobs.attempt = held.attempt AND jobs.lease_owner = $1 AND jobs.state = 'running'
        RETURNING jobs.id
        """)

    static let complete = PreparedStatement(name: "stdnet_complete", sql: """
        WITH done AS (
            UPDATE jobs SET state = 'succeeded', result = $4::jsonb, lease_expires_at = NULL, finalized_at = now()
            WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND state = 'running'
            RETURNING id, attempt
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, lease_owner, detail)
            SELECT id, 'running', 'succeeded', attempt, $3, 'completed' FROM done
        )
        SELECT id FROM done
        """)

    static let completeBatch = PreparedStatement(name: "stdnet_complete_batch", sql: """
        WITH input AS (
            SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[]) AS input (job, attempt, owner, result)
        ), done AS (
            UPDATE jobs SET state = 'succeeded', result = input.result::jsonb, lease_expires_at = NULL, finalized_at = now()
            FROM input
            WHERE jobs.id = input.job AND jobs.attempt = input.attempt AND jobs.lease_owner = input.owner
              AND jobs.state = 'running'
            RETURNING jobs.id, jobs.attempt, jobs.lease_owner
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, lease_owner, detail)
            SELECT id, 'running', 'succeeded', attempt, lease_owner, 'completed' FROM done
        )
        SELECT id FROM done
        UNION
        SELECT jobs.id FROM jobs JOIN input ON jobs.id = input.job
        WHERE jobs.state = 'succeeded' AND jobs.attempt = input.attempt AND jobs.lease_owner = input.owner
        """)

    static let fail = PreparedStatement(name: "stdnet_fail", sql: """
        WITH failed AS (
            UPDATE jobs SET
                state = CASE WHEN $5::boolean AND attempt < max_attempts THEN 'queued'::job_state ELSE 'dead'::job_state END,
                run_after = CASE WHEN $5::boolean AND attempt < max_attempts
                                 THEN now() + $6::bigint * interval '1 millisecond' ELSE run_after END,
                errors = errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'owner', $3::text, 'at', now(), 'error', $4::text)),
                lease_owner = NULL, lease_expires_at = NULL,
                finalized_at = CASE WHEN $5::boolean AND attempt < max_attempts THEN NULL ELSE now() END
            WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND state = 'running'
            RETURNING id, state, run_after, attempt
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, lease_owner, detail)
            SELECT id, 'running', state, attempt, $3, $4 FROM failed
        )
        SELECT state, run_after FROM failed
        """)

    static let cancel = PreparedStatement(name: "stdnet_cancel", sql: """
        WITH target AS (
            SELECT id, state, attempt, lease_owner FROM jobs WHERE id = $1 AND state IN ('queued', 'running') FOR UPDATE
        ), cancelled AS (
            UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, finalized_at = now()
            FROM target WHERE jobs.id = target.id
            RETURNING jobs.id
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, lease_owner, detail)
            SELECT id, state, 'cancelled', attempt, lease_owner, $2 FROM target
        )
        SELECT id FROM cancelled
        """)

    /// Queues a dead or cancelled job again with as many attempts as it had, numbered on from its
    /// last, so that results of its earlier attempts stay fenced out.
    static let retry = PreparedStatement(name: "stdnet_retry", sql: """
        WITH target AS (
            SELECT id, state, attempt FROM jobs WHERE id = $1 AND state IN ('dead', 'cancelled') FOR UPDATE
        ), retried AS (
            UPDATE jobs SET state = 'queued', max_attempts = jobs.attempt + jobs.max_attempts, run_after = now(),
                lease_owner = NULL, lease_expires_at = NULL, finalized_at = NULL
            FROM target WHERE jobs.id = target.id
            RETURNING jobs.id, jobs.kind
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, lease_owner, detail)
            SELECT id, state, 'queued', attempt, NULL, $2 FROM target
        )
        SELECT id, pg_notify('\(JobQueue.notificationChannel)', kind) FROM retried
        """)

    static let requeueExpired = PreparedStatement(name: "stdnet_requeue_expired", sql: """
        WITH expired AS (
            SELECT id, lease_owner FROM jobs
            WHERE state = 'running' AND lease_expires_at < now()
            ORDER BY lease_expires_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        ), requeued AS (
            UPDATE jobs SET
                state = CASE WHEN jobs.attempt < jobs.max_attempts THEN 'queued'::job_state ELSE 'dead'::job_state END,
                run_after = now(),
                errors = jobs.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', jobs.attempt, 'owner', expired.lease_owner, 'at', now(),
                    'error', 'lease expired: no heartbeat from ' || expired.lease_owner)),
                lease_owner = NULL, lease_expires_at = NULL,
                finalized_at = CASE WHEN jobs.attempt < jobs.max_attempts THEN NULL ELSE now() END
            FROM expired WHERE jobs.id = expired.id
            RETURNING jobs.id, jobs.state, jobs.attempt, expired.lease_owner
        ), logged AS (
            INSERT INTO job_events (job_id, from_state, to_state, attempt, lease_owner, detail)
            SELECT id, 'running', state, attempt, lease_owner, 'lease expired' FROM requeued
        )
        SELECT id FROM requeued ORDER BY id
        """)

    static let select = PreparedStatement(name: "stdnet_select_job", sql: """
        SELECT \(columns) FROM jobs WHERE id = $1
        """)
}
