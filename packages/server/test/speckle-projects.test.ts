import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

const PROJECT_FIELDS = 'id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId';
const MODEL_FIELDS = 'id name previewUrl updatedAt description displayName createdAt author {avatar bio company id name role verified}';
const VERSION_FIELDS = 'id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}';
const ALL = ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read', 'users:invite'];

describe.each(storeKinds)('Speckle projects, models and versions on %s', (kind) => {
  let srv: TestServer;
  let owner: { id: string };
  let ownerToken: string;
  let other: { id: string; email: string };
  let otherToken: string;
  let projectId: string;

  const insertObject = async (pid: string, id: string, data: Record<string, unknown> = {}) =>
    srv.app.store.db
      .insertInto('objects')
      .values({ project_id: pid, id, speckle_type: 'Base', total_children_count: null, data: JSON.stringify({ id, ...data }), created_at: Date.now() })
      .execute();

  beforeAll(async () => {
    srv = await startTestServer(kind);
    owner = await srv.createUser({ admin: true, name: 'Owner' });
    ownerToken = await srv.createToken(owner.id, ALL);
    other = await srv.createUser({ name: 'Other' });
    otherToken = await srv.createToken(other.id, ALL);
  });
  afterAll(() => srv.close());

  it('creates a private project with a "main" model, owned by the caller', async () => {
    const r = await gql(srv.url, `mutation ProjectCreate($input: ProjectCreateInput) {data: projectMutations {data: create(input: $input) {${PROJECT_FIELDS}}}}`,
      { input: { name: 'Tower', description: 'a tall one', visibility: null } }, ownerToken);
    expect(r.body.errors).toBeUndefined();
    const p = r.body.data.data.data;
    expect(p).toMatchObject({ name: 'Tower', description: 'a tall one', visibility: 'PRIVATE', role: 'stream:owner', sourceApps: [], workspaceId: null });
    expect(p.id).toMatch(/^[0-9a-f]{10}$/);
    projectId = p.id;
    const models = await gql(srv.url, `query($projectId: String!) {data: project(id: $projectId) {data: models(limit: 10) {totalCount cursor items {${MODEL_FIELDS}}}}}`, { projectId }, ownerToken);
    expect(models.body.data.data.data.totalCount).toBe(1);
    expect(models.body.data.data.data.items[0]).toMatchObject({ name: 'main', displayName: 'main', description: 'default model', previewUrl: null });
  });

  it('hides a private project from others: FORBIDDEN for strangers, STREAM_NOT_FOUND for unknown ids', async () => {
    const q = `query Project($projectId: String!) {data: project(id: $projectId) {${PROJECT_FIELDS}}}`;
    const stranger = await gql(srv.url, q, { projectId }, otherToken);
    expect(stranger.body.errors[0]).toMatchObject({ message: 'You do not have access to the project', extensions: { code: 'FORBIDDEN' } });
    const anon = await gql(srv.url, q, { projectId });
    expect(anon.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const missing = await gql(srv.url, q, { projectId: 'ffffffffff' }, ownerToken);
    expect(missing.body.errors[0]).toMatchObject({ message: 'Project not found', extensions: { code: 'STREAM_NOT_FOUND' } });
  });

  it('validates model names as Speckle does, lower-cases them, and refuses duplicates', async () => {
    const create = (name: string) =>
      gql(srv.url, `mutation ModelCreate($input: CreateModelInput!) {data: modelMutations {data: create(input: $input) {${MODEL_FIELDS}}}}`,
        { input: { name, description: null, projectId } }, ownerToken);
    const ok = await create('Structure/Level 1');
    expect(ok.body.data.data.data).toMatchObject({ name: 'structure/level 1', displayName: 'level 1' });
    for (const bad of ['', '#x', '$x', '/x', 'x/', 'a//b', 'a,b', 'a\\b']) {
      const r = await create(bad);
      expect(r.body.errors[0].extensions.code).toBe('BRANCH_NAME_ERROR');
    }
    expect((await create('STRUCTURE/level 1')).body.errors[0].extensions.code).toBe('BRANCH_NAME_ERROR');
  });

  it('creates a version only for an object that exists in the project, and lists it newest first', async () => {
    const model = (await gql(srv.url, `query($p: String!) { project(id: $p) { modelByName(name: "main") { id } } }`, { p: projectId }, ownerToken)).body.data.project.modelByName;
    const create = (objectId: string, message: string | null) =>
      gql(srv.url, `mutation Create($input: CreateVersionInput!) {data: versionMutations {data: create(input: $input) {${VERSION_FIELDS}}}}`,
        { input: { objectId, modelId: model.id, projectId, message, sourceApplication: 'py', totalChildrenCount: null, parents: null } }, ownerToken);
    const missing = await create('0'.repeat(32), 'x');
    expect(missing.body.errors[0]).toMatchObject({ message: "Couldn't find commit object", extensions: { code: 'COMMIT_CREATE_ERROR' } });
    await insertObject(projectId, 'a'.repeat(32));
    await insertObject(projectId, 'b'.repeat(32));
    const v1 = (await create('a'.repeat(32), 'first')).body.data.data.data;
    const v2 = (await create('b'.repeat(32), null)).body.data.data.data;
    expect(v1).toMatchObject({ referencedObject: 'a'.repeat(32), message: 'first', sourceApplication: 'py', previewUrl: `${srv.url}/preview/${projectId}/commits/${v1.id}` });
    expect(v1.authorUser).toMatchObject({ id: owner.id, name: 'Owner', role: 'server:admin' });
    expect(v2.message).toBeNull();
    const list = await gql(srv.url, `query VersionGetVersions($projectId: String!, $modelId: String!, $limit: Int!, $cursor: String, $filter: ModelVersionsFilter) {data: project(id: $projectId) {data: model(id: $modelId) {data: versions(limit: $limit, cursor: $cursor, filter: $filter) {items {${VERSION_FIELDS}} cursor totalCount}}}}`,
      { projectId, modelId: model.id, limit: 1, cursor: null, filter: null }, ownerToken);
    const page1 = list.body.data.data.data.data;
    expect(page1.totalCount).toBe(2);
    expect(page1.items.map((v: { id: string }) => v.id)).toEqual([v2.id]);
    const page2 = await gql(srv.url, `query($p: String!, $m: String!, $c: String) { project(id: $p) { model(id: $m) { versions(limit: 10, cursor: $c) { items { id } cursor } } } }`, { p: projectId, m: model.id, c: page1.cursor }, ownerToken);
    expect(page2.body.data.project.model.versions.items.map((v: { id: string }) => v.id)).toEqual([v1.id]);
    const tooMany = await gql(srv.url, `query($p: String!, $m: String!) { project(id: $p) { model(id: $m) { versions(limit: 101) { totalCount } } } }`, { p: projectId, m: model.id }, ownerToken);
    expect(tooMany.body.errors[0].message).toBe('Cannot return more than 100 items, please use pagination.');
    const proj = await gql(srv.url, `query($p: String!) { project(id: $p) { sourceApps models { items { name previewUrl } } } }`, { p: projectId }, ownerToken);
    expect(proj.body.data.project.sourceApps).toEqual(['py']);
    expect(proj.body.data.project.models.items.find((m: { name: string }) => m.name === 'main').previewUrl).toBe(`${srv.url}/preview/${projectId}/commits/${v2.id}`);
  });

  it('moves versions to a new model, marks one received, and deletes versions', async () => {
    const versions = (await gql(srv.url, `query($p: String!) { project(id: $p) { versions { items { id } } } }`, { p: projectId }, ownerToken)).body.data.project.versions.items;
    const moved = await gql(srv.url, `mutation VersionMoveToModel($input: MoveVersionsInput!) {data: versionMutations {data: moveToModel(input: $input) {data: id}}}`,
      { input: { targetModelName: 'Archive', versionIds: [versions[0].id], projectId } }, ownerToken);
    const archiveId = moved.body.data.data.data.data;
    expect(archiveId).toMatch(/^[0-9a-f]{10}$/);
    const archived = await gql(srv.url, `query($p: String!, $m: String!) { project(id: $p) { model(id: $m) { name versions { items { id } } } } }`, { p: projectId, m: archiveId }, ownerToken);
    expect(archived.body.data.project.model).toEqual({ name: 'archive', versions: { items: [{ id: versions[0].id }] } });
    const rec = await gql(srv.url, `mutation MarkReceived($input: MarkReceivedVersionInput!) {data: versionMutations {data: markReceived(input: $input)}}`,
      { input: { versionId: versions[1].id, projectId, sourceApplication: 'py', message: null } }, ownerToken);
    expect(rec.body.data.data.data).toBe(true);
    const del = await gql(srv.url, `mutation VersionDelete($input: DeleteVersionsInput!) {data: versionMutations {data: delete(input: $input)}}`,
      { input: { versionIds: [versions[0].id], projectId } }, ownerToken);
    expect(del.body.data.data.data).toBe(true);
    const gone = await gql(srv.url, `query($p: String!, $v: String!) { project(id: $p) { version(id: $v) { id } } }`, { p: projectId, v: versions[0].id }, ownerToken);
    expect(gone.body.errors[0]).toMatchObject({ message: 'Version not found', extensions: { code: 'NOT_FOUND_ERROR' } });
  });

  it('refuses to delete the main model and deletes another model with its versions', async () => {
    const models = (await gql(srv.url, `query($p: String!) { project(id: $p) { models { items { id name } } } }`, { p: projectId }, ownerToken)).body.data.project.models.items;
    const del = (id: string) => gql(srv.url, `mutation ModelDelete($input: DeleteModelInput!) {data: modelMutations {data: delete(input: $input)}}`, { input: { id, projectId } }, ownerToken);
    const main = models.find((m: { name: string }) => m.name === 'main');
    expect((await del(main.id)).body.errors[0]).toMatchObject({ message: 'This model is reserved and cannot be deleted', extensions: { code: 'BAD_REQUEST_ERROR' } });
    const archive = models.find((m: { name: string }) => m.name === 'archive');
    expect((await del(archive.id)).body.data.data.data).toBe(true);
  });

  it('shares a project: reviewers read but cannot write, contributors write, only owners manage', async () => {
    const role = (userId: string, r: string | null, token = ownerToken) =>
      gql(srv.url, `mutation ProjectUpdateRole($input: ProjectUpdateRoleInput!) {data: projectMutations {data: updateRole(input: $input) {id team {id role user {id name}}}}}`,
        { input: { userId, projectId, role: r } }, token);
    const r1 = await role(other.id, 'stream:reviewer');
    expect(r1.body.data.data.data.team).toContainEqual({ id: other.id, role: 'stream:reviewer', user: { id: other.id, name: 'Other' } });
    const read = await gql(srv.url, `query($p: String!) { project(id: $p) { name role } }`, { p: projectId }, otherToken);
    expect(read.body.data.project).toEqual({ name: 'Tower', role: 'stream:reviewer' });
    const write = await gql(srv.url, `mutation($i: CreateModelInput!) { modelMutations { create(input: $i) { id } } }`, { i: { projectId, name: 'nope' } }, otherToken);
    expect(write.body.errors[0]).toMatchObject({ message: 'You do not have enough permissions in the project to perform this action', extensions: { code: 'FORBIDDEN' } });
    await role(other.id, 'stream:contributor');
    const write2 = await gql(srv.url, `mutation($i: CreateModelInput!) { modelMutations { create(input: $i) { id } } }`, { i: { projectId, name: 'yes' } }, otherToken);
    expect(write2.body.errors).toBeUndefined();
    const manage = await role(owner.id, null, otherToken);
    expect(manage.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const lastOwner = await role(owner.id, 'stream:reviewer');
    expect(lastOwner.body.errors[0].extensions.code).toBe('BAD_REQUEST_ERROR');
    const perms = await gql(srv.url, `query Project($projectId: String!) {data: project(id: $projectId) {data: permissions {canCreateModel {authorized code message} canDelete {authorized code message} canLoad {authorized code message} canPublish {authorized code message}}}}`, { projectId }, otherToken);
    expect(perms.body.data.data.data).toEqual({
      canCreateModel: { authorized: true, code: 'OK', message: 'OK' },
      canDelete: { authorized: false, code: 'ProjectNotEnoughPermissions', message: 'You do not have enough permissions in the project to perform this action' },
      canLoad: { authorized: true, code: 'OK', message: 'OK' },
      canPublish: { authorized: true, code: 'OK', message: 'OK' },
    });
  });

  it("lists the caller's projects with working cursors and filters", async () => {
    for (const name of ['Alpha', 'Beta', 'Gamma']) await gql(srv.url, `mutation($i: ProjectCreateInput) { projectMutations { create(input: $i) { id } } }`, { i: { name } }, ownerToken);
    const q = `query User($limit: Int!, $cursor: String, $filter: UserProjectsFilter) {data: activeUser {data: projects(limit: $limit, cursor: $cursor, filter: $filter) {totalCount cursor items {${PROJECT_FIELDS}}}}}`;
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await gql(srv.url, q, { limit: 2, cursor, filter: null }, ownerToken);
      const page = r.body.data.data.data;
      expect(page.totalCount).toBe(4);
      if (!page.items.length) break;
      seen.push(...page.items.map((p: { name: string }) => p.name));
      cursor = page.cursor;
    }
    expect(seen).toEqual(['Gamma', 'Beta', 'Alpha', 'Tower']);
    const filtered = await gql(srv.url, q, { limit: 10, cursor: null, filter: { search: 'amm', onlyWithRoles: null, workspaceId: null, personalOnly: null, includeImplicitAccess: null } }, ownerToken);
    expect(filtered.body.data.data.data.items.map((p: { name: string }) => p.name)).toEqual(['Gamma']);
  });

  it('lets anyone read a public project, and updates and deletes projects for owners only', async () => {
    const upd = await gql(srv.url, `mutation ProjectUpdate($input: ProjectUpdateInput!) {data: projectMutations {data: update(update: $input) {${PROJECT_FIELDS}}}}`,
      { input: { id: projectId, name: 'Tower 2', description: null, allowPublicComments: null, visibility: 'PUBLIC' } }, ownerToken);
    expect(upd.body.data.data.data).toMatchObject({ name: 'Tower 2', visibility: 'PUBLIC', description: 'a tall one' });
    const anon = await gql(srv.url, `query($p: String!) { project(id: $p) { name role models { totalCount } } }`, { p: projectId });
    expect(anon.body.data.project).toMatchObject({ name: 'Tower 2', role: null });
    const delByOther = await gql(srv.url, `mutation ProjectDelete($projectId: String!) {data: projectMutations {data: delete(id: $projectId)}}`, { projectId }, otherToken);
    expect(delByOther.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const del = await gql(srv.url, `mutation ProjectDelete($projectId: String!) {data: projectMutations {data: delete(id: $projectId)}}`, { projectId }, ownerToken);
    expect(del.body.data.data.data).toBe(true);
    const gone = await gql(srv.url, `query($p: String!) { project(id: $p) { id } }`, { p: projectId }, ownerToken);
    expect(gone.body.errors[0].extensions.code).toBe('STREAM_NOT_FOUND');
    const leftovers = await srv.app.store.db.selectFrom('objects').select('id').where('project_id', '=', projectId).execute();
    expect(leftovers).toEqual([]);
  });

  it('refuses project writes to a token without streams:write', async () => {
    const ro = await srv.createToken(owner.id, ['streams:read', 'profile:read']);
    const r = await gql(srv.url, `mutation($i: ProjectCreateInput) { projectMutations { create(input: $i) { id } } }`, { i: { name: 'x' } }, ro);
    expect(r.body.errors[0]).toMatchObject({ message: 'Your auth token does not have the required scope: streams:write.', extensions: { code: 'FORBIDDEN' } });
  });

  it('invites a user who accepts and becomes a member', async () => {
    const p = (await gql(srv.url, `mutation($i: ProjectCreateInput) { projectMutations { create(input: $i) { id } } }`, { i: { name: 'Invites' } }, ownerToken)).body.data.projectMutations.create.id;
    const inv = await gql(srv.url, `mutation ProjectInviteCreate($projectId: ID!, $input: ProjectInviteCreateInput!) {data: projectMutations {data: invites {data: create(projectId: $projectId, input: $input) {id invitedTeam {id inviteId projectId projectName title role token user {id} invitedBy {id}}}}}}`,
      { projectId: p, input: { email: null, role: 'stream:contributor', serverRole: null, userId: other.id } }, ownerToken);
    expect(inv.body.errors).toBeUndefined();
    const pending = inv.body.data.data.data.data.invitedTeam[0];
    expect(pending).toMatchObject({ projectId: p, projectName: 'Invites', title: 'Other', role: 'stream:contributor', token: null, user: { id: other.id }, invitedBy: { id: owner.id } });
    const mine = await gql(srv.url, `query ProjectInvites {data: activeUser {data: projectInvites {id inviteId projectId token role}}}`, undefined, otherToken);
    const token = mine.body.data.data.data[0].token;
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const use = await gql(srv.url, `mutation ProjectInviteUse($input: ProjectInviteUseInput!) {data: projectMutations {data: invites {data: use(input: $input)}}}`,
      { input: { accept: true, projectId: p, token } }, otherToken);
    expect(use.body.data.data.data.data).toBe(true);
    const read = await gql(srv.url, `query($p: String!) { project(id: $p) { role } }`, { p }, otherToken);
    expect(read.body.data.project.role).toBe('stream:contributor');
  });

  it('answers the workspace documents as a server with workspaces disabled', async () => {
    const r = await gql(srv.url, `query WorkspaceGet($workspaceId: String!) {data: workspace(id: $workspaceId) {id name}}`, { workspaceId: 'x' }, ownerToken);
    expect(r.body.errors[0].extensions.code).toBe('WORKSPACES_MODULE_DISABLED_ERROR');
    const perms = await gql(srv.url, `query CanCreatePersonalProject {data: activeUser {data: permissions {data: canCreatePersonalProject {authorized code message}}}}`, undefined, ownerToken);
    expect(perms.body.data.data.data.data).toEqual({ authorized: true, code: 'OK', message: 'OK' });
  });
});
