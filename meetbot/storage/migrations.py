"""Database upgrades as data: an ordered list of small steps, each run in a transaction.

Add a step at the end; never edit one that has shipped. A database newer than this code is
refused (see ``Database.open``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "the record, the outbox and durable tasks",
        """
        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        -- Every room event the core has handled. Outside meetings only the id is kept (so
        -- nothing is answered twice); inside one the whole event, which the meeting is
        -- rebuilt from.
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            room_id TEXT NOT NULL,
            meeting_id TEXT,
            type TEXT NOT NULL,
            sender TEXT,
            at TEXT NOT NULL,
            payload TEXT
        );
        CREATE INDEX events_by_meeting ON events (meeting_id, seq);
        CREATE INDEX events_by_sender ON events (sender);
        CREATE TABLE meetings (
            meeting_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            region_id TEXT NOT NULL,
            title TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL DEFAULT 'running'
        );
        CREATE INDEX meetings_by_room ON meetings (room_id, status);
        -- Messages to send. txn_id is derived from what caused the message, so a resend after
        -- a crash is deduplicated by the homeserver and never posted twice.
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            room_id TEXT NOT NULL,
            txn_id TEXT NOT NULL UNIQUE,
            event_type TEXT NOT NULL DEFAULT 'm.room.message',
            content TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            sent_event_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            failed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX outbox_pending ON outbox (sent_at, failed, id);
        -- Work that must happen exactly once even across crashes (minutes, translations).
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            key TEXT NOT NULL UNIQUE,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            done_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        );
        CREATE INDEX tasks_pending ON tasks (done_at, id);
        CREATE TABLE timers (
            key TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE TABLE translations (
            event_id TEXT NOT NULL,
            lang TEXT NOT NULL,
            text TEXT NOT NULL,
            source_lang TEXT,
            backend TEXT,
            PRIMARY KEY (event_id, lang)
        );
        CREATE TABLE user_prefs (
            user_id TEXT PRIMARY KEY,
            language TEXT
        );
        """,
    ),
    Migration(
        3,
        "the meeting calendar: each configured meeting and whether it was held or missed",
        """
        -- One row per configured meeting (region, number). A held or missed meeting keeps its
        -- status even if the config changes, so it is never opened twice.
        CREATE TABLE scheduled_meetings (
            region_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            timezone TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'scheduled',
            meeting_id TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (region_id, number)
        );
        """,
    ),
    Migration(
        4,
        "consent and withdrawal: who opted out, and an audit trail without content",
        """
        -- People who typed !optout: their messages are not recorded until they type !optin.
        CREATE TABLE research_optouts (
            user_id TEXT PRIMARY KEY,
            at TEXT NOT NULL
        );
        -- That a withdrawal, opt-out or opt-in happened, and how much it touched; never who,
        -- never what.
        CREATE TABLE research_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            meetings INTEGER NOT NULL DEFAULT 0,
            events INTEGER NOT NULL DEFAULT 0
        );
        """,
    ),
    Migration(
        5,
        "encrypted events waiting for their keys survive a restart",
        """
        -- An encrypted event the bot could not decrypt yet (its key may arrive late). It is
        -- kept until it decrypts or its grace period ends, so a crash loses no message.
        CREATE TABLE undecrypted (
            event_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            source TEXT NOT NULL,
            first_seen REAL NOT NULL
        );
        """,
    ),
    Migration(
        6,
        "a failed durable task waits before it is tried again",
        """
        -- When a failed task may run again (NULL: at once). A homeserver that refuses an
        -- upload for minutes must not use up a task's attempts in seconds.
        ALTER TABLE tasks ADD COLUMN retry_at TEXT;
        """,
    ),
    Migration(
        7,
        "live translations are sent after a room's answers",
        """
        -- 1 for a row sent in the background (live translations, their edits and
        -- redactions): a room's answers do not queue behind them; each kind keeps its order.
        ALTER TABLE outbox ADD COLUMN background INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        8,
        "translations people can trust: corrections, memory, glossary, checks",
        """
        -- Where a translation's text comes from: 'machine' (a back-end), 'human' (a
        -- person's !fix) or 'glossary' (a fixed translation of the whole text). When a
        -- person corrected it, the machine's version, who and when are kept beside it.
        ALTER TABLE translations ADD COLUMN origin TEXT NOT NULL DEFAULT 'machine';
        ALTER TABLE translations ADD COLUMN machine_text TEXT;
        ALTER TABLE translations ADD COLUMN corrected_by TEXT;
        ALTER TABLE translations ADD COLUMN corrected_at TEXT;
        -- People's corrections as a translation memory: the same source sentence is never
        -- sent to a back-end again for that pair.
        CREATE TABLE translation_memory (
            source_lang TEXT NOT NULL,
            target_lang TEXT NOT NULL,
            source_text TEXT NOT NULL,
            text TEXT NOT NULL,
            user_id TEXT NOT NULL,
            event_id TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (source_lang, target_lang, source_text)
        );
        -- Terms added from a room (!term add): kept verbatim (lang '') or translated one
        -- fixed way into one language. The config file's glossary is read from the file.
        CREATE TABLE glossary_terms (
            source TEXT NOT NULL,
            lang TEXT NOT NULL DEFAULT '',
            target TEXT NOT NULL,
            added_by TEXT NOT NULL,
            room_id TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (source, lang)
        );
        -- Which glossary terms a translation used (for the report and the exports).
        CREATE TABLE glossary_hits (
            event_id TEXT NOT NULL,
            lang TEXT NOT NULL,
            term TEXT NOT NULL,
            PRIMARY KEY (event_id, lang, term)
        );
        -- !check: how an author's message reads back into their language, and its score.
        CREATE TABLE translation_checks (
            event_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            lang TEXT NOT NULL,
            source_lang TEXT NOT NULL,
            text TEXT NOT NULL,
            back_text TEXT NOT NULL,
            score REAL NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (event_id, lang)
        );
        -- !check auto / !check off, per person.
        CREATE TABLE check_prefs (
            user_id TEXT PRIMARY KEY,
            mode TEXT NOT NULL
        );
        """,
    ),
    Migration(
        13,
        "written answers around a scheduled meeting: the prompts posted, the answers, who "
        "asked for them by direct message",
        """
        -- Each prompt posted for written answers: in the region's room (user_id NULL) or in
        -- a direct chat with user_id. txn_id is the outbox row's, whose sent event is the
        -- thread root (or the message a direct chat replies to).
        CREATE TABLE written_prompts (
            txn_id TEXT PRIMARY KEY,
            region_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            prompt_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            user_id TEXT
        );
        CREATE INDEX written_prompts_by_user ON written_prompts (user_id);
        -- The answers, attributed to the planned meeting (region, number) and its prompt.
        CREATE TABLE written_answers (
            event_id TEXT PRIMARY KEY,
            region_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            prompt_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            display_name TEXT NOT NULL,
            body TEXT NOT NULL,
            language TEXT,
            via TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX written_answers_by_meeting ON written_answers (region_id, number, at);
        CREATE INDEX written_answers_by_sender ON written_answers (sender);
        -- People who asked for the prompts by direct message (!async on), and that chat.
        CREATE TABLE written_optins (
            user_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL
        );
        """,
    ),
]
