export { SecurityService, isLoopbackHost, ADMIN_TOKEN_FILE, type Decision } from './service.js';
export { securityMigrations } from './migrations.js';
export { parseDuration, type TokenInfo } from './tokens.js';
export type { AuditEntry, AuditVerdict } from './audit.js';
export type { Grant } from './grants.js';
export * from './roles.js';
export { restrictNewFiles } from './file-modes.js';
export { withEncryption, openKeyring, openSecretBox, openPayloadCipher, piiKey } from './encryption.js';
