-- Lesion tracking across a patient's studies: jobs that must run one at a time per key,
-- persistent per-patient track numbers, tracking events, and the new lesions behind a response.

-- Jobs with the same serial key run one at a time, oldest first (a patient's `track` jobs).
ALTER TABLE jobs ADD COLUMN serial_key text;
CREATE INDEX jobs_serial_key ON jobs (serial_key, state) WHERE serial_key IS NOT NULL;

-- A track's number is what users see: 1, 2, ... within one patient, kept across re-tracking.
ALTER TABLE lesion_tracks ADD COLUMN number integer;
ALTER TABLE lesion_tracks ADD CONSTRAINT lesion_tracks_patient_number UNIQUE (patient_id, number);

-- What tracking found at each study: a lesion seen for the first time, a track with no lesion,
-- two tracks merged into one lesion, a lesion split off an earlier one.
CREATE TABLE track_events (
    study_id        bigint NOT NULL REFERENCES studies (id),
    event           text NOT NULL CHECK (event IN ('new', 'vanished', 'merge', 'split')),
    track_number    integer NOT NULL,
    -- The absorbed track of a merge, the new track of a split.
    other_number    integer,
    UNIQUE (study_id, event, track_number, other_number)
);

ALTER TABLE response_assessments ADD COLUMN new_lesion_tracks integer[] NOT NULL DEFAULT '{}';

-- mRECIST's viable diameter (NULL without an arterial phase), and threshold growth once the
-- lesion's track gives it a history.
ALTER TABLE lesions ADD COLUMN viable_axial_mm double precision;
ALTER TABLE lesions ADD COLUMN threshold_growth boolean NOT NULL DEFAULT false;

-- Files a job returned beside its JSON result: an analysis' label map and key images.
CREATE TABLE result_files (
    job_id          bigint NOT NULL REFERENCES jobs (id),
    name            text NOT NULL,
    sha256          text NOT NULL REFERENCES blobs (sha256),
    PRIMARY KEY (job_id, name)
);
