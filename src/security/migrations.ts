/** The security domain's tables (migration range 1000_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export interface TokenTable {
  id: string;
  name: string;
  role: string;
  /** JSON array, e.g. ["inference:churn"]; empty means the role's whole reach. */
  scopes_json: string;
  /** HMAC-SHA256 of the token under the server secret (hex); the token itself is never stored. */
  hash: string;
  created_ms: number;
  created_by: string;
  expires_ms: number | null;
  last_used_ms: number | null;
  revoked_ms: number | null;
}

export interface GrantTable {
  /** 'token' (a token id) or 'group' (a group name). */
  subject_kind: string;
  subject: string;
  resource_kind: string;
  resource: string;
  permission: string;
}

export interface GroupMemberTable {
  group_name: string;
  token_id: string;
}

export interface AuditTable {
  seq: number;
  time_ms: number;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  status: number;
  client: string;
  request_id: string;
  prev_hash: string;
  hash: string;
}

export interface BlobKeyTable {
  /** sha256 of the plaintext: the id callers know the object by. */
  sha256: string;
  /** sha256 of the stored (encrypted) bytes: their id in the underlying store. */
  cipher_sha256: string;
  size: number;
  key_id: string;
  /** The object's data key, wrapped under master key `key_id`. */
  wrapped_key: string;
  /** The data IV and GCM tag, base64. */
  iv: string;
  tag: string;
}


/** One row (id 1): the newest audit entry's number and hash, MACed with the server secret. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
  mac: string;
}

export interface SecurityTables {
  sec_blob_key: BlobKeyTable;
  sec_token: TokenTable;
  sec_grant: GrantTable;
  sec_group_member: GroupMemberTable;
  sec_audit: AuditTable;
  sec_audit_head: AuditHeadTable;
}

export const securityMigrations: Migrations = {
  '1000_security_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sec_token')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('scopes_json', 'text', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'varchar(255)', (c) => c.notNull())
        .addColumn('expires_ms', 'bigint')
        .addColumn('last_used_ms', 'bigint')
        .addColumn('revoked_ms', 'bigint')
        .execute();
      await db.schema
        .createTable('sec_grant')
        .addColumn('subject_kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('subject', 'varchar(255)', (c) => c.notNull())
        .addColumn('resource_kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('resource', 'varchar(255)', (c) => c.notNull())
        .addColumn('permission', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('sec_grant_pk', ['subject_kind', 'subject', 'resource_kind', 'resource'])
        .execute();
      await db.schema
        .createTable('sec_group_member')
        .addColumn('group_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('token_id', 'varchar(64)', (c) => c.notNull().references('sec_token.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('sec_group_member_pk', ['group_name', 'token_id'])
        .execute();
      await db.schema
        .createTable('sec_audit')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('time_ms', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'varchar(255)', (c) => c.notNull())
        .addColumn('action', 'varchar(255)', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('client', 'varchar(64)', (c) => c.notNull())
        .addColumn('request_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sec_audit_time_ix').on('sec_audit').column('time_ms').execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['sec_audit', 'sec_group_member', 'sec_grant', 'sec_token']) await db.schema.dropTable(t).execute();
    },
  },
  '1001_security_blob_keys': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sec_blob_key')
        .addColumn('sha256', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('cipher_sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('key_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('wrapped_key', 'text', (c) => c.notNull())
        .addColumn('iv', 'varchar(32)', (c) => c.notNull())
        .addColumn('tag', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sec_blob_key_key_ix').on('sec_blob_key').column('key_id').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('sec_blob_key').execute();
    },
  },
  '1010_security_audit_head': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sec_audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('mac', 'varchar(64)', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('sec_audit_head').execute();
    },
  },
};
