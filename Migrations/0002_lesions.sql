-- Lesions found by analysis, the tracks that link one lesion across a patient's studies, and
-- response assessments per study.

CREATE TABLE lesion_tracks (
    id              bigserial PRIMARY KEY,
    patient_id      bigint NOT NULL REFERENCES patients (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lesions (
    id                      bigserial PRIMARY KEY,
    study_id                bigint NOT NULL REFERENCES studies (id),
    -- The analyze job whose result holds this lesion.
    job_id                  bigint NOT NULL REFERENCES jobs (id),
    -- Position in the job's lesion list, largest first.
    lesion_index            integer NOT NULL CHECK (lesion_index >= 0),
    -- Set by tracking; nil until the study is tracked.
    track_id                bigint REFERENCES lesion_tracks (id),
    volume_ml               double precision NOT NULL,
    longest_axial_mm        double precision NOT NULL,
    perpendicular_mm        double precision NOT NULL,
    maximum_diameter_mm     double precision NOT NULL,
    -- LPS position in mm.
    centroid                double precision[] NOT NULL CHECK (array_length(centroid, 1) = 3),
    lirads_category         text NOT NULL,
    features                jsonb NOT NULL,
    class_probabilities     jsonb,
    UNIQUE (study_id, lesion_index)
);
CREATE INDEX lesions_track ON lesions (track_id);

CREATE TABLE response_assessments (
    study_id        bigint NOT NULL REFERENCES studies (id),
    criteria        text NOT NULL CHECK (criteria IN ('RECIST 1.1', 'mRECIST')),
    category        text NOT NULL CHECK (category IN ('CR', 'PR', 'SD', 'PD')),
    sum_mm          double precision NOT NULL,
    baseline_sum_mm double precision NOT NULL,
    nadir_sum_mm    double precision NOT NULL,
    PRIMARY KEY (study_id, criteria)
);
