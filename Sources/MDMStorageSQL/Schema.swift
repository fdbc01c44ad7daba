/// The schema of each database, as versioned migrations. A version, once released, is never edited: a change is a
/// new step at the end. Both end in the same tables and columns (the conformance suite checks the behaviour); they
/// differ in types, in how insertion order is kept, and in SQLite's history.
///
/// Every row keeps its whole value as a JSON document (`doc`) beside the columns it is looked up or ordered by.
/// Values that change on a hot path (`last_seen_at`, an attempt's `repeats`) are columns only, laid over the document
/// on read, so a check-in never rewrites a document.
enum SchemaSQLite {
    static let migrations: [[String]] = [
        [
            "CREATE TABLE settings (key TEXT PRIMARY KEY, doc TEXT NOT NULL)",
            "CREATE TABLE users (id TEXT PRIMARY KEY, upn TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)",
            """
            CREATE TABLE enrollments (id TEXT PRIMARY KEY, upn TEXT NOT NULL, hw_dev_id TEXT NOT NULL,
              device_id TEXT NOT NULL, state TEXT NOT NULL, cert_thumbprint TEXT NOT NULL, enrolled_at REAL NOT NULL,
              doc TEXT NOT NULL)
            """,
            "CREATE INDEX enrollments_upn ON enrollments(upn)",
            "CREATE INDEX enrollments_hw ON enrollments(hw_dev_id, state)",
            "CREATE INDEX enrollments_thumbprint ON enrollments(cert_thumbprint)",
            """
            CREATE TABLE attempts (id TEXT PRIMARY KEY, time REAL NOT NULL, phase TEXT NOT NULL, outcome TEXT NOT NULL,
              upn TEXT, code TEXT, doc TEXT NOT NULL)
            """,
            "CREATE INDEX attempts_time ON attempts(time)",
            "CREATE INDEX attempts_upn_time ON attempts(upn, time)",
        ],
        [
            "CREATE TABLE groups (id TEXT PRIMARY KEY, name_key TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)",
            "CREATE TABLE audit (id TEXT PRIMARY KEY, time REAL NOT NULL, doc TEXT NOT NULL)",
            "CREATE INDEX audit_time ON audit(time)",
        ],
        [
            """
            CREATE TABLE commands (id TEXT PRIMARY KEY, enrollment_id TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL,
              doc TEXT NOT NULL)
            """,
            "CREATE INDEX commands_queue ON commands(enrollment_id, state, created_at)",
        ],
        [
            "ALTER TABLE enrollments ADD COLUMN prev_cert_thumbprint TEXT",
            "CREATE INDEX enrollments_prev_thumbprint ON enrollments(prev_cert_thumbprint)",
        ],
        [
            "CREATE TABLE signin_throttle (key TEXT PRIMARY KEY, last_failure REAL, locked_until REAL, doc TEXT NOT NULL)",
            "CREATE INDEX signin_throttle_failure ON signin_throttle(last_failure)",
        ],
        [
            // Group members in their own table, indexed by user: finding a user's groups reads only those rows.
            "CREATE TABLE group_members (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id))",
            "CREATE INDEX group_members_user ON group_members(user_id)",
            "INSERT OR IGNORE INTO group_members (group_id, user_id) SELECT g.id, m.value FROM groups g, json_each(g.doc, '$.members') m",
            "UPDATE groups SET doc = json_set(doc, '$.members', json('[]'))",
            // Enrollments belong to a user by id, so renaming the UPN moves nothing.
            "ALTER TABLE enrollments ADD COLUMN user_id TEXT",
            "UPDATE enrollments SET user_id = (SELECT id FROM users WHERE users.upn = enrollments.upn)",
            "CREATE INDEX enrollments_user ON enrollments(user_id, state)",
            "CREATE INDEX enrollments_order ON enrollments(enrolled_at, id)",
            // Check-ins write a column, not the document.
            "ALTER TABLE enrollments ADD COLUMN last_seen_at REAL",
            "UPDATE enrollments SET last_seen_at = json_extract(doc, '$.lastSeenAt'), doc = json_remove(doc, '$.lastSeenAt')",
            "ALTER TABLE attempts ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE attempts ADD COLUMN last_repeat_at REAL",
            """
            UPDATE attempts SET repeats = COALESCE(json_extract(doc, '$.repeats'), 0), last_repeat_at = json_extract(doc, '$.lastRepeatAt'),
              doc = json_remove(doc, '$.repeats', '$.lastRepeatAt')
            """,
            "CREATE INDEX attempts_outcome_time ON attempts(outcome, time)",
        ],
        [
            // The settings' objects that grow with use, one row each (see SQLStore+Settings.swift).
            "CREATE TABLE restrictions (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "CREATE TABLE autopilot_profiles (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "CREATE TABLE bulk_packages (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "INSERT INTO restrictions (id, position, doc) SELECT json_extract(o.value, '$.id'), o.key, o.value FROM settings s, json_each(s.doc, '$.restrictions') o WHERE s.key = 'tenant'",
            "INSERT INTO api_tokens (id, sha256, position, doc) SELECT json_extract(o.value, '$.id'), json_extract(o.value, '$.sha256'), o.key, o.value FROM settings s, json_each(s.doc, '$.apiTokens') o WHERE s.key = 'tenant'",
            "INSERT INTO autopilot_profiles (id, position, doc) SELECT json_extract(o.value, '$.id'), o.key, o.value FROM settings s, json_each(s.doc, '$.autopilotProfiles') o WHERE s.key = 'tenant'",
            "INSERT INTO bulk_packages (id, position, doc) SELECT json_extract(o.value, '$.id'), o.key, o.value FROM settings s, json_each(s.doc, '$.bulkPackages') o WHERE s.key = 'tenant'",
            "UPDATE settings SET doc = json_set(doc, '$.restrictions', json('[]'), '$.apiTokens', json('[]'), '$.autopilotProfiles', json('[]'), '$.bulkPackages', json('[]')) WHERE key = 'tenant'",
        ],
        [
            // Without NULLs: the statistics of a mostly-NULL column made the planner scan instead (SQLStore.byThumbprint).
            "DROP INDEX enrollments_prev_thumbprint",
            "CREATE INDEX enrollments_prev_thumbprint ON enrollments(prev_cert_thumbprint) WHERE prev_cert_thumbprint IS NOT NULL",
        ],
        [
            // Configuration profiles, and where each stands on each device (SQLStore+Profiles.swift).
            "CREATE TABLE profiles (id TEXT PRIMARY KEY, name_key TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, doc TEXT NOT NULL)",
            """
            CREATE TABLE profile_states (enrollment_id TEXT NOT NULL, profile_id TEXT NOT NULL, doc TEXT NOT NULL,
              PRIMARY KEY (enrollment_id, profile_id))
            """,
            "CREATE INDEX profile_states_profile ON profile_states(profile_id)",
            "CREATE TABLE counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            "INSERT INTO counters (key, value) VALUES ('profiles', 0)",
            "ALTER TABLE enrollments ADD COLUMN profile_rev INTEGER NOT NULL DEFAULT 0",
        ],
        [
            "CREATE TABLE group_devices (group_id TEXT NOT NULL, hw_dev_id TEXT NOT NULL, PRIMARY KEY (group_id, hw_dev_id))",
            "CREATE INDEX group_devices_device ON group_devices(hw_dev_id)",
        ],
        [
            // Autopilot device identities and corporate device identifiers (SQLStore+Registrations.swift).
            """
            CREATE TABLE autopilot_devices (id TEXT PRIMARY KEY, serial_key TEXT NOT NULL UNIQUE, hw_dev_id TEXT,
              imported_at REAL NOT NULL, doc TEXT NOT NULL)
            """,
            "CREATE INDEX autopilot_devices_hw ON autopilot_devices(hw_dev_id) WHERE hw_dev_id IS NOT NULL",
            "CREATE TABLE device_identifiers (key TEXT PRIMARY KEY, doc TEXT NOT NULL)",
        ],
        [
            // What /metrics and winmdm status count: active enrollments, commands waiting for their device.
            "CREATE INDEX enrollments_state ON enrollments(state)",
            "CREATE INDEX commands_waiting ON commands(state) WHERE state IN ('queued', 'sent')",
            // The audit log filtered by who, on what and which change (winmdm audit list --actor/--target/--action).
            "ALTER TABLE audit ADD COLUMN actor TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE audit ADD COLUMN target TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE audit ADD COLUMN action TEXT NOT NULL DEFAULT ''",
            """
            UPDATE audit SET actor = COALESCE(json_extract(doc, '$.actor'), ''), target = COALESCE(json_extract(doc, '$.target'), ''),
              action = COALESCE(json_extract(doc, '$.action'), '')
            """,
        ],
    ]
}

enum SchemaPostgres {
    static let migrations: [[String]] = [
        [
            "CREATE TABLE settings (key TEXT PRIMARY KEY, doc TEXT NOT NULL)",
            "CREATE TABLE users (id TEXT PRIMARY KEY, upn TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)",
            "CREATE TABLE groups (id TEXT PRIMARY KEY, name_key TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)",
            "CREATE TABLE group_members (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id))",
            "CREATE INDEX group_members_user ON group_members(user_id)",
            """
            CREATE TABLE enrollments (id TEXT PRIMARY KEY, user_id TEXT, upn TEXT NOT NULL, hw_dev_id TEXT NOT NULL,
              device_id TEXT NOT NULL, state TEXT NOT NULL, cert_thumbprint TEXT NOT NULL, prev_cert_thumbprint TEXT,
              enrolled_at DOUBLE PRECISION NOT NULL, last_seen_at DOUBLE PRECISION, doc TEXT NOT NULL)
            """,
            "CREATE INDEX enrollments_user ON enrollments(user_id, state)",
            "CREATE INDEX enrollments_upn ON enrollments(upn)",
            "CREATE INDEX enrollments_hw ON enrollments(hw_dev_id, state)",
            "CREATE INDEX enrollments_thumbprint ON enrollments(cert_thumbprint)",
            "CREATE INDEX enrollments_prev_thumbprint ON enrollments(prev_cert_thumbprint)",
            "CREATE INDEX enrollments_order ON enrollments(enrolled_at, id)",
            """
            CREATE TABLE attempts (id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY, time DOUBLE PRECISION NOT NULL,
              phase TEXT NOT NULL, outcome TEXT NOT NULL, upn TEXT, code TEXT, repeats BIGINT NOT NULL DEFAULT 0,
              last_repeat_at DOUBLE PRECISION, doc TEXT NOT NULL)
            """,
            "CREATE INDEX attempts_time ON attempts(time, seq)",
            "CREATE INDEX attempts_upn_time ON attempts(upn, time)",
            "CREATE INDEX attempts_outcome_time ON attempts(outcome, time)",
            "CREATE TABLE audit (id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY, time DOUBLE PRECISION NOT NULL, doc TEXT NOT NULL)",
            "CREATE INDEX audit_time ON audit(time, seq)",
            """
            CREATE TABLE commands (id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY, enrollment_id TEXT NOT NULL,
              state TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, doc TEXT NOT NULL)
            """,
            "CREATE INDEX commands_queue ON commands(enrollment_id, state, created_at)",
            """
            CREATE TABLE signin_throttle (key TEXT PRIMARY KEY, last_failure DOUBLE PRECISION, locked_until DOUBLE PRECISION,
              doc TEXT NOT NULL)
            """,
            "CREATE INDEX signin_throttle_failure ON signin_throttle(last_failure)",
        ],
        [
            "CREATE TABLE restrictions (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "CREATE TABLE autopilot_profiles (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "CREATE TABLE bulk_packages (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT NOT NULL)",
            "INSERT INTO restrictions (id, position, doc) SELECT o.value->>'id', o.n - 1, o.value::text FROM settings s, jsonb_array_elements(s.doc::jsonb->'restrictions') WITH ORDINALITY AS o(value, n) WHERE s.key = 'tenant'",
            "INSERT INTO api_tokens (id, sha256, position, doc) SELECT o.value->>'id', o.value->>'sha256', o.n - 1, o.value::text FROM settings s, jsonb_array_elements(s.doc::jsonb->'apiTokens') WITH ORDINALITY AS o(value, n) WHERE s.key = 'tenant'",
            "INSERT INTO autopilot_profiles (id, position, doc) SELECT o.value->>'id', o.n - 1, o.value::text FROM settings s, jsonb_array_elements(s.doc::jsonb->'autopilotProfiles') WITH ORDINALITY AS o(value, n) WHERE s.key = 'tenant'",
            "INSERT INTO bulk_packages (id, position, doc) SELECT o.value->>'id', o.n - 1, o.value::text FROM settings s, jsonb_array_elements(s.doc::jsonb->'bulkPackages') WITH ORDINALITY AS o(value, n) WHERE s.key = 'tenant'",
            """
            UPDATE settings SET doc = (doc::jsonb || '{"restrictions": [], "apiTokens": [], "autopilotProfiles": [], "bulkPackages": []}'::jsonb)::text
            WHERE key = 'tenant'
            """,
        ],
        [
            "DROP INDEX enrollments_prev_thumbprint",
            "CREATE INDEX enrollments_prev_thumbprint ON enrollments(prev_cert_thumbprint) WHERE prev_cert_thumbprint IS NOT NULL",
        ],
        [
            "CREATE TABLE profiles (id TEXT PRIMARY KEY, name_key TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL, doc TEXT NOT NULL)",
            """
            CREATE TABLE profile_states (enrollment_id TEXT NOT NULL, profile_id TEXT NOT NULL, doc TEXT NOT NULL,
              PRIMARY KEY (enrollment_id, profile_id))
            """,
            "CREATE INDEX profile_states_profile ON profile_states(profile_id)",
            "CREATE TABLE counters (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO counters (key, value) VALUES ('profiles', 0)",
            "ALTER TABLE enrollments ADD COLUMN profile_rev BIGINT NOT NULL DEFAULT 0",
        ],
        [
            "CREATE TABLE group_devices (group_id TEXT NOT NULL, hw_dev_id TEXT NOT NULL, PRIMARY KEY (group_id, hw_dev_id))",
            "CREATE INDEX group_devices_device ON group_devices(hw_dev_id)",
        ],
        [
            """
            CREATE TABLE autopilot_devices (id TEXT PRIMARY KEY, serial_key TEXT NOT NULL UNIQUE, hw_dev_id TEXT,
              imported_at DOUBLE PRECISION NOT NULL, doc TEXT NOT NULL)
            """,
            "CREATE INDEX autopilot_devices_hw ON autopilot_devices(hw_dev_id) WHERE hw_dev_id IS NOT NULL",
            "CREATE TABLE device_identifiers (key TEXT PRIMARY KEY, doc TEXT NOT NULL)",
        ],
        [
            // What /metrics and winmdm status count: active enrollments, commands waiting for their device.
            "CREATE INDEX enrollments_state ON enrollments(state)",
            "CREATE INDEX commands_waiting ON commands(state) WHERE state IN ('queued', 'sent')",
            "ALTER TABLE audit ADD COLUMN actor TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE audit ADD COLUMN target TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE audit ADD COLUMN action TEXT NOT NULL DEFAULT ''",
            """
            UPDATE audit SET actor = COALESCE(doc::jsonb->>'actor', ''), target = COALESCE(doc::jsonb->>'target', ''),
              action = COALESCE(doc::jsonb->>'action', '')
            """,
        ],
    ]
}
