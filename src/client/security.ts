/** Typed SDK for tokens, grants and the audit log. */
import type { AuditEntry, AuditVerdict, Grant, TokenInfo } from '../security/index.js';
import type { ModelportClient } from './client.js';

export type { AuditEntry, AuditVerdict, Grant, TokenInfo } from '../security/index.js';

export interface TokenSpec {
  name: string;
  role: string;
  scopes?: string[];
  /** e.g. 30d, 12h */
  expires?: string;
}

export class SecurityClient {
  constructor(private readonly client: ModelportClient) {}

  whoami(): Promise<{ principal: string; role?: string; auth: boolean }> {
    return this.client.request({ method: 'GET', path: '/api/v1/security/whoami' });
  }

  /** Creates a token; its text is in this answer only. */
  createToken(spec: TokenSpec): Promise<{ token: string; info: TokenInfo }> {
    return this.client.request({ method: 'POST', path: '/api/v1/security/tokens', body: spec });
  }

  async listTokens(): Promise<TokenInfo[]> {
    return (await this.client.request<{ tokens: TokenInfo[] }>({ method: 'GET', path: '/api/v1/security/tokens' })).tokens;
  }

  revokeToken(ref: string): Promise<TokenInfo> {
    return this.client.request({ method: 'DELETE', path: `/api/v1/security/tokens/${encodeURIComponent(ref)}` });
  }

  async addToGroup(ref: string, group: string): Promise<void> {
    await this.client.request({ method: 'POST', path: `/api/v1/security/tokens/${encodeURIComponent(ref)}/groups`, body: { group } });
  }

  grant(grant: Grant): Promise<Grant> {
    return this.client.request({ method: 'PUT', path: '/api/v1/security/grants', body: grant });
  }

  async audit(query: { since?: number; actor?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    return (await this.client.request<{ entries: AuditEntry[] }>({ method: 'GET', path: '/api/v1/audit', query })).entries;
  }

  verifyAudit(): Promise<AuditVerdict> {
    return this.client.request({ method: 'GET', path: '/api/v1/audit/verify' });
  }
}
