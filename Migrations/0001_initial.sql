-- Initial schema: patients, studies and their series, content-addressed blobs, the job queue
-- with its event history, and the audit log of history reads.

CREATE TABLE patients (
    id              bigserial PRIMARY KEY,
    -- The hospital's Patient ID (0010,0020), used only to link a patient's studies; never logged.
    patient_key     text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE studies (
    id                  bigserial PRIMARY KEY,
    patient_id          bigint NOT NULL REFERENCES patients (id),
    -- Study Instance UID (0020,000D): submitting the same study twice finds this row again.
    study_instance_uid  text NOT NULL UNIQUE,
    study_date          date,
    modality            text NOT NULL CHECK (modality IN ('CT', 'MR')),
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX studies_patient ON studies (patient_id, study_date);

-- Content-addressed storage for volumes and masks: the key is the SHA-256 of the bytes, so a
-- volume stored twice is stored once. Bytes live in 1 MiB chunks of bytea.
CREATE TABLE blobs (
    sha256          text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    byte_count      bigint NOT NULL CHECK (byte_count >= 0),
    media_type      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunks (
    sha256          text NOT NULL REFERENCES blobs (sha256) ON DELETE CASCADE,
    chunk_index     integer NOT NULL CHECK (chunk_index >= 0),
    data            bytea NOT NULL,
    PRIMARY KEY (sha256, chunk_index)
);

CREATE TABLE series (
    id                  bigserial PRIMARY KEY,
    study_id            bigint NOT NULL REFERENCES studies (id),
    series_instance_uid text NOT NULL UNIQUE,
    -- Contrast phase: non-contrast, late arterial, portal venous, delayed.
    phase               text NOT NULL CHECK (phase IN ('NC', 'AP', 'PV', 'DP')),
    description         text,
    -- Grid in LPS patient coordinates: voxel counts (x, y, z), spacing in mm, origin of the first
    -- voxel in mm, and the 3x3 direction matrix with the axis directions as columns, row-major.
    size                integer[] NOT NULL CHECK (array_length(size, 1) = 3),
    spacing             double precision[] NOT NULL CHECK (array_length(spacing, 1) = 3),
    origin              double precision[] NOT NULL CHECK (array_length(origin, 1) = 3),
    direction           double precision[] NOT NULL CHECK (array_length(direction, 1) = 9),
    volume_sha256       text NOT NULL REFERENCES blobs (sha256),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (study_id, phase)
);

CREATE TYPE job_state AS ENUM ('queued', 'running', 'succeeded', 'dead', 'cancelled');

-- The queue. The lifecycle of each column is documented on JobRow in Sources/JobStore/Job.swift.
CREATE TABLE jobs (
    id                  bigserial PRIMARY KEY,
    kind                text NOT NULL,
    state               job_state NOT NULL DEFAULT 'queued',
    priority            smallint NOT NULL DEFAULT 100,
    payload             jsonb NOT NULL DEFAULT '{}',
    idempotency_key     text,
    study_id            bigint REFERENCES studies (id),
    attempt             integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts        integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_after           timestamptz NOT NULL DEFAULT now(),
    lease_owner         text,
    lease_expires_at    timestamptz,
    errors              jsonb NOT NULL DEFAULT '[]',
    result              jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    attempted_at        timestamptz,
    finalized_at        timestamptz,
    CHECK ((state = 'running') = (lease_expires_at IS NOT NULL))
);
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_claim_order ON jobs (priority, id) WHERE state = 'queued';
CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_study ON jobs (study_id) WHERE study_id IS NOT NULL;

-- One row per state change, written in the same statement as the change.
CREATE TABLE job_events (
    id              bigserial PRIMARY KEY,
    job_id          bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    occurred_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_state      job_state,
    to_state        job_state NOT NULL,
    attempt         integer NOT NULL,
    lease_owner     text,
    detail          text
);
CREATE INDEX job_events_job ON job_events (job_id, id);

-- Wakes dispatchers as soon as an enqueue commits; the payload is the job kind.
CREATE FUNCTION notify_jobs_enqueued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stdnet_jobs', kind) FROM (SELECT DISTINCT kind FROM inserted_jobs) AS kinds;
    RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_enqueued AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_enqueued();

-- Who read which patient's history, and when.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    action          text NOT NULL,
    patient_id      bigint REFERENCES patients (id),
    detail          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_patient ON audit_log (patient_id, occurred_at);
