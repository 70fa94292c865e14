/** Server settings shown as Speckle's `serverInfo`: the stored row plus what configuration fixes. */
import type { AtriumConfig } from '../config.js';
import type { Store } from '../store/db.js';
import { AppError } from '../domain/errors.js';

export interface ServerSettings {
  name: string;
  company: string | null;
  description: string | null;
  adminContact: string | null;
  termsOfService: string | null;
  inviteOnly: boolean;
  guestModeEnabled: boolean;
}

export function createServerInfoService(store: Store, config: AtriumConfig) {
  const { db } = store;

  async function get(): Promise<ServerSettings & { version: string; canonicalUrl: string }> {
    const r = await db.selectFrom('server_config').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    return {
      name: r.name,
      company: r.company,
      description: r.description,
      adminContact: r.admin_contact,
      termsOfService: r.terms_of_service,
      inviteOnly: r.invite_only === 1,
      guestModeEnabled: r.guest_mode_enabled === 1,
      version: config.server.version,
      canonicalUrl: config.publicUrl,
    };
  }

  async function update(input: Partial<ServerSettings> & { name: string }): Promise<void> {
    if (typeof input.name !== 'string' || !input.name.trim()) throw new AppError('USER_INPUT_ERROR', 'Server name is required.');
    const values: Record<string, unknown> = { name: input.name.trim() };
    if (input.company !== undefined) values.company = input.company;
    if (input.description !== undefined) values.description = input.description;
    if (input.adminContact !== undefined) values.admin_contact = input.adminContact;
    if (input.termsOfService !== undefined) values.terms_of_service = input.termsOfService;
    if (input.inviteOnly !== undefined && input.inviteOnly !== null) values.invite_only = input.inviteOnly ? 1 : 0;
    if (input.guestModeEnabled !== undefined && input.guestModeEnabled !== null)
      values.guest_mode_enabled = input.guestModeEnabled ? 1 : 0;
    await db.updateTable('server_config').set(values).where('id', '=', 1).execute();
  }

  /** The first start with a configured name sets it; later edits through GraphQL win. */
  async function applyConfiguredName(): Promise<void> {
    if (config.server.name === 'My new Speckle Server') return;
    await db
      .updateTable('server_config')
      .set({ name: config.server.name })
      .where('id', '=', 1)
      .where('name', '=', 'My new Speckle Server')
      .execute();
  }

  return { get, update, applyConfiguredName };
}

export type ServerInfoService = ReturnType<typeof createServerInfoService>;
