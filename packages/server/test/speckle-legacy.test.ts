import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

const ALL = ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read', 'users:invite'];
const STREAM_FIELDS = 'id name description isPublic isDiscoverable allowPublicComments role createdAt updatedAt size favoritedDate favoritesCount';
const COMMIT_FIELDS =
  'id referencedObject message sourceApplication totalChildrenCount branchName parents authorName authorId authorAvatar createdAt streamId streamName';

/** distinct creation times, so "oldest first" and "newest first" are well defined */
const tick = () => new Promise((r) => setTimeout(r, 5));

describe.each(storeKinds)('Speckle legacy streams, branches and commits on %s', (kind) => {
  let srv: TestServer;
  let owner: { id: string };
  let ownerToken: string;
  let other: { id: string };
  let otherToken: string;

  const insertObject = async (pid: string, id: string) =>
    srv.app.store.db
      .insertInto('objects')
      .values({ project_id: pid, id, speckle_type: 'Base', total_children_count: null, data: JSON.stringify({ id }), created_at: Date.now() })
      .execute();

  const streamCreate = async (stream: Record<string, unknown>, token = ownerToken) => {
    const r = await gql(srv.url, `mutation($s: StreamCreateInput!) { streamCreate(stream: $s) }`, { s: stream }, token);
    expect(r.body.errors).toBeUndefined();
    return r.body.data.streamCreate as string;
  };
  const commitCreate = (commit: Record<string, unknown>, token = ownerToken) =>
    gql(srv.url, `mutation($c: CommitCreateInput!) { commitCreate(commit: $c) }`, { c: commit }, token);
  const setRole = (projectId: string, userId: string, role: string | null) =>
    gql(srv.url, `mutation($i: ProjectUpdateRoleInput!) { projectMutations { updateRole(input: $i) { id } } }`, { i: { projectId, userId, role } }, ownerToken);

  beforeAll(async () => {
    srv = await startTestServer(kind);
    owner = await srv.createUser({ admin: true, name: 'Owner' });
    ownerToken = await srv.createToken(owner.id, ALL);
    other = await srv.createUser({ name: 'Other' });
    otherToken = await srv.createToken(other.id, ALL);
  });
  afterAll(() => srv.close());

  it('streamCreate makes a project the v3 API reads back: public by default, private or unlisted on request, with a main model', async () => {
    const id = await streamCreate({ name: 'Legacy', description: 'old school', isPublic: null, isDiscoverable: null, withContributors: null });
    expect(id).toMatch(/^[0-9a-f]{10}$/);
    const v3 = await gql(srv.url, `query($p: String!) { project(id: $p) { id name description visibility role models { items { name } } } }`, { p: id }, ownerToken);
    expect(v3.body.data.project).toEqual({ id, name: 'Legacy', description: 'old school', visibility: 'PUBLIC', role: 'stream:owner', models: { items: [{ name: 'main' }] } });

    const priv = await streamCreate({ name: 'Secret', isPublic: false });
    const unlisted = await streamCreate({ name: 'Hidden', isPublic: true, isDiscoverable: false });
    const vis = async (p: string) => (await gql(srv.url, `query($p: String!) { project(id: $p) { visibility } }`, { p }, ownerToken)).body.data.project.visibility;
    expect(await vis(priv)).toBe('PRIVATE');
    expect(await vis(unlisted)).toBe('UNLISTED');

    const legacy = await gql(srv.url, `query($p: String!) { stream(id: $p) { ${STREAM_FIELDS} } }`, { p: unlisted }, ownerToken);
    expect(legacy.body.data.stream).toMatchObject({ id: unlisted, name: 'Hidden', isPublic: true, isDiscoverable: false, role: 'stream:owner', size: null, favoritedDate: null, favoritesCount: 0 });
  });

  it('a project made with the v3 API reads the same through stream(id): fields, collaborators, branches', async () => {
    const created = await gql(srv.url, `mutation($i: ProjectCreateInput) { projectMutations { create(input: $i) { id createdAt updatedAt } } }`,
      { i: { name: 'Modern', description: 'v3 made', visibility: 'PRIVATE' } }, ownerToken);
    const p = created.body.data.projectMutations.create;
    await setRole(p.id, other.id, 'stream:reviewer');
    const r = await gql(srv.url, `query($p: String!) { stream(id: $p) { ${STREAM_FIELDS} collaborators { id name role company avatar serverRole } branches { totalCount cursor items { id name description author { id name } createdAt } } branch { name } } }`, { p: p.id }, ownerToken);
    expect(r.body.errors).toBeUndefined();
    const s = r.body.data.stream;
    expect(s).toMatchObject({ id: p.id, name: 'Modern', description: 'v3 made', isPublic: false, isDiscoverable: false, allowPublicComments: false, role: 'stream:owner', createdAt: p.createdAt });
    expect(s.collaborators).toEqual(
      expect.arrayContaining([
        { id: owner.id, name: 'Owner', role: 'stream:owner', company: null, avatar: null, serverRole: 'server:admin' },
        { id: other.id, name: 'Other', role: 'stream:reviewer', company: null, avatar: null, serverRole: 'server:user' },
      ]),
    );
    expect(s.branches.totalCount).toBe(1);
    expect(s.branches.items[0]).toMatchObject({ name: 'main', description: 'default model', author: { id: owner.id, name: 'Owner' } });
    expect(s.branch).toEqual({ name: 'main' });
    const asReviewer = await gql(srv.url, `query($p: String!) { stream(id: $p) { role } }`, { p: p.id }, otherToken);
    expect(asReviewer.body.data.stream.role).toBe('stream:reviewer');
  });

  it('creates, renames, finds and deletes branches, with the legacy errors for duplicates and the main branch', async () => {
    const streamId = await streamCreate({ name: 'Branches' });
    const create = (name: string, description: string | null = null) =>
      gql(srv.url, `mutation($b: BranchCreateInput!) { branchCreate(branch: $b) }`, { b: { streamId, name, description } }, ownerToken);
    const made = await create('Structure/Level 1', 'floors');
    const branchId = made.body.data.branchCreate;
    expect(branchId).toMatch(/^[0-9a-f]{10}$/);
    const v3 = await gql(srv.url, `query($p: String!, $m: String!) { project(id: $p) { model(id: $m) { name displayName description } } }`, { p: streamId, m: branchId }, ownerToken);
    expect(v3.body.data.project.model).toEqual({ name: 'structure/level 1', displayName: 'level 1', description: 'floors' });

    const dup = await create('STRUCTURE/level 1');
    expect(dup.body.errors[0]).toMatchObject({ message: 'A branch with this name already exists', extensions: { code: 'BRANCH_CREATE_ERROR' } });
    expect((await create('#bad')).body.errors[0].extensions.code).toBe('BRANCH_NAME_ERROR');

    const byName = await gql(srv.url, `query($s: String!) { stream(id: $s) { byName: branch(name: "Structure/Level 1") { id } byId: branch(name: "${branchId}") { name } none: branch(name: "nope") { id } } }`, { s: streamId }, ownerToken);
    expect(byName.body.data.stream).toEqual({ byName: { id: branchId }, byId: { name: 'structure/level 1' }, none: null });

    const update = (branch: Record<string, unknown>) => gql(srv.url, `mutation($b: BranchUpdateInput!) { branchUpdate(branch: $b) }`, { b: { streamId, ...branch } }, ownerToken);
    expect((await update({ id: branchId, name: 'Structure/Level 2', description: 'moved up' })).body.data.branchUpdate).toBe(true);
    const renamed = await gql(srv.url, `query($s: String!) { stream(id: $s) { branch(name: "structure/level 2") { id description } } }`, { s: streamId }, ownerToken);
    expect(renamed.body.data.stream.branch).toEqual({ id: branchId, description: 'moved up' });
    expect((await update({ id: branchId, name: null, description: null })).body.errors[0]).toMatchObject({ message: 'Please specify a property to update', extensions: { code: 'BRANCH_UPDATE_ERROR' } });
    expect((await update({ id: branchId, name: 'main' })).body.errors[0]).toMatchObject({ message: 'A branch with this name already exists in the parent stream', extensions: { code: 'BRANCH_UPDATE_ERROR' } });
    expect((await update({ id: 'ffffffffff', name: 'x' })).body.errors[0]).toMatchObject({ message: 'Branch not found', extensions: { code: 'BRANCH_UPDATE_ERROR' } });

    const del = (id: string) => gql(srv.url, `mutation($b: BranchDeleteInput!) { branchDelete(branch: $b) }`, { b: { streamId, id } }, ownerToken);
    const main = (await gql(srv.url, `query($s: String!) { stream(id: $s) { branch { id } } }`, { s: streamId }, ownerToken)).body.data.stream.branch.id;
    expect((await del(main)).body.errors[0]).toMatchObject({ message: 'Cannot delete the main branch', extensions: { code: 'BRANCH_DELETE_ERROR' } });
    expect((await del(branchId)).body.data.branchDelete).toBe(true);
    const gone = await gql(srv.url, `query($p: String!, $m: String!) { project(id: $p) { model(id: $m) { id } } }`, { p: streamId, m: branchId }, ownerToken);
    expect(gone.body.errors[0].extensions.code).toBe('NOT_FOUND_ERROR');
  });

  it('commitCreate resolves the branch by lower-cased name, then by id, and the commit reads the same as a v3 version', async () => {
    const streamId = await streamCreate({ name: 'Commits' });
    const branchId = (await gql(srv.url, `mutation($b: BranchCreateInput!) { branchCreate(branch: $b) }`, { b: { streamId, name: 'design' } }, ownerToken)).body.data.branchCreate;
    const obj = 'a'.repeat(32);
    await insertObject(streamId, obj);

    const byName = await commitCreate({ streamId, branchName: 'DESIGN', objectId: obj, message: 'by name', sourceApplication: 'Rhino7', totalChildrenCount: 3, parents: ['p1', null] });
    expect(byName.body.errors).toBeUndefined();
    await tick();
    const byId = await commitCreate({ streamId, branchName: branchId, objectId: obj, message: null, sourceApplication: null });
    expect(byId.body.errors).toBeUndefined();
    const c1 = byName.body.data.commitCreate;
    const c2 = byId.body.data.commitCreate;

    const missingBranch = await commitCreate({ streamId, branchName: 'Nowhere', objectId: obj });
    expect(missingBranch.body.errors[0]).toMatchObject({ message: 'Failed to find branch with name or id nowhere.', extensions: { code: 'COMMIT_CREATE_ERROR' } });
    const missingObject = await commitCreate({ streamId, branchName: 'main', objectId: 'b'.repeat(32) });
    expect(missingObject.body.errors[0]).toMatchObject({ message: "Couldn't find commit object", extensions: { code: 'COMMIT_CREATE_ERROR' } });

    const r = await gql(srv.url, `query($s: String!, $c: String) { stream(id: $s) { commit(id: $c) { ${COMMIT_FIELDS} branch { id name } stream { id name } } latest: commit { id } } }`, { s: streamId, c: c1 }, ownerToken);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.stream.commit).toMatchObject({
      id: c1,
      referencedObject: obj,
      message: 'by name',
      sourceApplication: 'Rhino7',
      branchName: 'design',
      parents: ['p1'],
      authorName: 'Owner',
      authorId: owner.id,
      authorAvatar: null,
      streamId,
      streamName: 'Commits',
      branch: { id: branchId, name: 'design' },
      stream: { id: streamId, name: 'Commits' },
    });
    expect(r.body.data.stream.latest).toEqual({ id: c2 });

    const v3 = await gql(srv.url, `query($p: String!, $v: String!) { project(id: $p) { version(id: $v) { id referencedObject message sourceApplication createdAt model { id } authorUser { id } } } }`, { p: streamId, v: c1 }, ownerToken);
    expect(v3.body.data.project.version).toEqual({ id: c1, referencedObject: obj, message: 'by name', sourceApplication: 'rhino', createdAt: r.body.data.stream.commit.createdAt, model: { id: branchId }, authorUser: { id: owner.id } });

    const missing = await gql(srv.url, `query($s: String!) { stream(id: $s) { commit(id: "ffffffffff") { id } } }`, { s: streamId }, ownerToken);
    expect(missing.body).toEqual({ data: { stream: { commit: null } } });
    const empty = await streamCreate({ name: 'Empty' });
    const none = await gql(srv.url, `query($s: String!) { stream(id: $s) { commit { id } } }`, { s: empty }, ownerToken);
    expect(none.body.errors[0]).toMatchObject({ message: 'Cannot retrieve commit (there are no commits in this stream).', extensions: { code: 'COMMIT_NOT_FOUND' } });
  });

  it('a version made with the v3 API shows up as a commit of its branch', async () => {
    const p = (await gql(srv.url, `mutation { projectMutations { create(input: {name: "V3 versions"}) { id models { items { id } } } } }`, undefined, ownerToken)).body.data.projectMutations.create;
    const obj = 'c'.repeat(32);
    await insertObject(p.id, obj);
    const v = await gql(srv.url, `mutation($i: CreateVersionInput!) { versionMutations { create(input: $i) { id } } }`,
      { i: { projectId: p.id, modelId: p.models.items[0].id, objectId: obj, message: 'from v3', sourceApplication: 'py', totalChildrenCount: null, parents: null } }, ownerToken);
    const vid = v.body.data.versionMutations.create.id;
    const r = await gql(srv.url, `query($s: String!) { stream(id: $s) { commits { totalCount items { id message branchName } } branch(name: "main") { commits { totalCount items { id referencedObject } } } } }`, { s: p.id }, ownerToken);
    expect(r.body.data.stream).toEqual({
      commits: { totalCount: 1, items: [{ id: vid, message: 'from v3', branchName: 'main' }] },
      branch: { commits: { totalCount: 1, items: [{ id: vid, referencedObject: obj }] } },
    });
  });

  it('updates, receives, moves and deletes commits with the legacy rules on who may do what', async () => {
    const streamId = await streamCreate({ name: 'Commit ops', isPublic: false });
    await setRole(streamId, other.id, 'stream:contributor');
    const obj = 'd'.repeat(32);
    await insertObject(streamId, obj);
    const mine = (await commitCreate({ streamId, branchName: 'main', objectId: obj, message: 'one' })).body.data.commitCreate;
    await tick();
    const theirs = (await commitCreate({ streamId, branchName: 'main', objectId: obj, message: 'two' }, otherToken)).body.data.commitCreate;
    await gql(srv.url, `mutation($b: BranchCreateInput!) { branchCreate(branch: $b) }`, { b: { streamId, name: 'archive' } }, ownerToken);

    const update = (commit: Record<string, unknown>, token = ownerToken) => gql(srv.url, `mutation($c: CommitUpdateInput!) { commitUpdate(commit: $c) }`, { c: { streamId, ...commit } }, token);
    expect((await update({ id: mine, message: 'one, edited', newBranchName: 'Archive' })).body.data.commitUpdate).toBe(true);
    const moved = await gql(srv.url, `query($s: String!, $c: String) { stream(id: $s) { commit(id: $c) { message branchName } } }`, { s: streamId, c: mine }, ownerToken);
    expect(moved.body.data.stream.commit).toEqual({ message: 'one, edited', branchName: 'archive' });
    expect((await update({ id: mine, message: null, newBranchName: null })).body.errors[0]).toMatchObject({ message: 'Nothing to update', extensions: { code: 'COMMIT_UPDATE_ERROR' } });
    expect((await update({ id: mine, message: 'not mine' }, otherToken)).body.errors[0]).toMatchObject({
      message: 'Only the author of a commit or a stream owner may update it',
      extensions: { code: 'COMMIT_UPDATE_ERROR' },
    });
    expect((await update({ id: 'ffffffffff', message: 'x' })).body.errors[0].extensions.code).toBe('COMMIT_UPDATE_ERROR');
    expect((await update({ id: mine, newBranchName: 'nowhere' })).body.errors[0]).toMatchObject({ message: 'Failed to update commit branch' });

    const receive = (commitId: string) =>
      gql(srv.url, `mutation($i: CommitReceivedInput!) { commitReceive(input: $i) }`, { i: { streamId, commitId, sourceApplication: 'Revit', message: null } }, otherToken);
    expect((await receive(theirs)).body.data.commitReceive).toBe(true);
    expect((await receive('ffffffffff')).body.errors[0]).toMatchObject({ extensions: { code: 'COMMIT_RECEIVE_ERROR' } });
    const receipts = await srv.app.store.db.selectFrom('version_receipts').selectAll().where('version_id', '=', theirs).execute();
    expect(receipts).toHaveLength(1);

    // batch move: a contributor may move only their own commits; a new target branch is created
    const move = (commitIds: string[], targetBranch: string, token: string) =>
      gql(srv.url, `mutation($i: CommitsMoveInput!) { commitsMove(input: $i) }`, { i: { streamId, commitIds, targetBranch } }, token);
    expect((await move([mine, theirs], 'elsewhere', otherToken)).body.errors[0]).toMatchObject({ extensions: { code: 'COMMIT_INVALID_ACCESS_ERROR', statusCode: 401 } });
    expect((await move([theirs, 'ffffffffff'], 'elsewhere', otherToken)).body.errors[0]).toMatchObject({ message: 'At least one of the commits does not exist', extensions: { code: 'COMMIT_BATCH_UPDATE_ERROR' } });
    expect((await move([theirs], 'Elsewhere', otherToken)).body.data.commitsMove).toBe(true);
    const elsewhere = await gql(srv.url, `query($s: String!) { stream(id: $s) { branch(name: "elsewhere") { commits { items { id } } } } }`, { s: streamId }, ownerToken);
    expect(elsewhere.body.data.stream.branch.commits.items).toEqual([{ id: theirs }]);

    // single delete: only the author, even for the owner
    const del = (id: string, token: string) => gql(srv.url, `mutation($c: CommitDeleteInput!) { commitDelete(commit: $c) }`, { c: { streamId, id } }, token);
    expect((await del(theirs, ownerToken)).body.errors[0]).toMatchObject({ message: 'Only the author of a commit may delete it', extensions: { code: 'COMMIT_DELETE_ERROR' } });
    expect((await del(theirs, otherToken)).body.data.commitDelete).toBe(true);
    expect((await del(theirs, otherToken)).body.errors[0]).toMatchObject({ message: "Couldn't delete nonexistant commit", extensions: { code: 'COMMIT_DELETE_ERROR' } });

    // batch delete: the owner may delete anyone's
    const again = (await commitCreate({ streamId, branchName: 'main', objectId: obj }, otherToken)).body.data.commitCreate;
    const batch = await gql(srv.url, `mutation($i: CommitsDeleteInput!) { commitsDelete(input: $i) }`, { i: { streamId, commitIds: [mine, again] } }, ownerToken);
    expect(batch.body.data.commitsDelete).toBe(true);
    const left = await gql(srv.url, `query($s: String!) { stream(id: $s) { commits { totalCount } } }`, { s: streamId }, ownerToken);
    expect(left.body.data.stream.commits.totalCount).toBe(0);
  });

  it('refuses as the legacy API does: reviewers cannot commit, strangers and anonymous callers get FORBIDDEN, missing streams STREAM_NOT_FOUND', async () => {
    const streamId = await streamCreate({ name: 'Guarded', isPublic: false });
    const obj = 'e'.repeat(32);
    await insertObject(streamId, obj);
    const q = `query($s: String!) { stream(id: $s) { id name } }`;

    const stranger = await gql(srv.url, q, { s: streamId }, otherToken);
    expect(stranger.body.data).toEqual({ stream: null });
    expect(stranger.body.errors[0]).toMatchObject({ message: 'You are not authorized to access this resource.', path: ['stream'], extensions: { code: 'FORBIDDEN', statusCode: 403 } });
    expect((await gql(srv.url, q, { s: streamId })).body.errors[0].extensions.code).toBe('FORBIDDEN');
    const missing = await gql(srv.url, q, { s: 'ffffffffff' }, ownerToken);
    expect(missing.body.errors[0]).toMatchObject({ message: 'Stream not found', extensions: { code: 'STREAM_NOT_FOUND', statusCode: 404 } });

    const strangerCommit = await commitCreate({ streamId, branchName: 'main', objectId: obj }, otherToken);
    expect(strangerCommit.body.errors[0]).toMatchObject({ message: 'You are not authorized to access this resource.', extensions: { code: 'FORBIDDEN' } });
    await setRole(streamId, other.id, 'stream:reviewer');
    expect((await gql(srv.url, q, { s: streamId }, otherToken)).body.data.stream.name).toBe('Guarded');
    const reviewerCommit = await commitCreate({ streamId, branchName: 'main', objectId: obj }, otherToken);
    expect(reviewerCommit.body.errors[0]).toMatchObject({ message: 'You are not authorized.', extensions: { code: 'FORBIDDEN' } });
    const reviewerBranch = await gql(srv.url, `mutation($b: BranchCreateInput!) { branchCreate(branch: $b) }`, { b: { streamId, name: 'nope' } }, otherToken);
    expect(reviewerBranch.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const pending = await gql(srv.url, `query($s: String!) { stream(id: $s) { pendingCollaborators { id } } }`, { s: streamId }, otherToken);
    expect(pending.body.errors[0]).toMatchObject({ path: ['stream', 'pendingCollaborators'], extensions: { code: 'FORBIDDEN' } });

    const missingCommit = await commitCreate({ streamId: 'ffffffffff', branchName: 'main', objectId: obj });
    expect(missingCommit.body.errors[0]).toMatchObject({ message: 'Resource of type streams with ffffffffff not found', extensions: { code: 'FORBIDDEN' } });
    const anonCommit = await commitCreate({ streamId, branchName: 'main', objectId: obj }, '');
    expect(anonCommit.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const readOnly = await srv.createToken(owner.id, ['streams:read']);
    const noScope = await commitCreate({ streamId, branchName: 'main', objectId: obj }, readOnly);
    expect(noScope.body.errors[0]).toMatchObject({ message: 'Your auth token does not have the required scope: streams:write.', extensions: { code: 'FORBIDDEN' } });
  });

  it('manages collaborators: roles change only for existing collaborators, revoke, leave, update and delete', async () => {
    const streamId = await streamCreate({ name: 'Team', isPublic: false });
    const perm = (role: string, token = ownerToken) =>
      gql(srv.url, `mutation($p: StreamUpdatePermissionInput!) { streamUpdatePermission(permissionParams: $p) }`, { p: { streamId, userId: other.id, role } }, token);
    expect((await perm('stream:contributor')).body.errors[0]).toMatchObject({ extensions: { code: 'STREAM_UPDATE_ERROR' } });
    expect((await perm('stream:nonsense')).body.errors[0]).toMatchObject({ message: 'Invalid role specified', extensions: { code: 'STREAM_UPDATE_ERROR' } });
    await setRole(streamId, other.id, 'stream:reviewer');
    expect((await perm('STREAM:CONTRIBUTOR')).body.data.streamUpdatePermission).toBe(true);
    expect((await perm('stream:owner', otherToken)).body.errors[0].extensions.code).toBe('FORBIDDEN');
    const team = await gql(srv.url, `query($p: String!) { project(id: $p) { team { id role } } }`, { p: streamId }, ownerToken);
    expect(team.body.data.project.team).toContainEqual({ id: other.id, role: 'stream:contributor' });

    const revoke = await gql(srv.url, `mutation($p: StreamRevokePermissionInput!) { streamRevokePermission(permissionParams: $p) }`, { p: { streamId, userId: other.id } }, ownerToken);
    expect(revoke.body.data.streamRevokePermission).toBe(true);
    expect((await gql(srv.url, `query($s: String!) { stream(id: $s) { id } }`, { s: streamId }, otherToken)).body.errors[0].extensions.code).toBe('FORBIDDEN');

    await setRole(streamId, other.id, 'stream:reviewer');
    const leave = await gql(srv.url, `mutation($s: String!) { streamLeave(streamId: $s) }`, { s: streamId }, otherToken);
    expect(leave.body.data.streamLeave).toBe(true);
    const ownerLeave = await gql(srv.url, `mutation($s: String!) { streamLeave(streamId: $s) }`, { s: streamId }, ownerToken);
    expect(ownerLeave.body.errors[0].extensions.code).toBe('BAD_REQUEST_ERROR');

    const update = await gql(srv.url, `mutation($s: StreamUpdateInput!) { streamUpdate(stream: $s) }`,
      { s: { id: streamId, name: 'Team 2', description: null, isPublic: true, isDiscoverable: null, allowPublicComments: true } }, ownerToken);
    expect(update.body.data.streamUpdate).toBe(true);
    const after = await gql(srv.url, `query($p: String!) { project(id: $p) { name visibility allowPublicComments } }`, { p: streamId }, ownerToken);
    expect(after.body.data.project).toEqual({ name: 'Team 2', visibility: 'PUBLIC', allowPublicComments: true });
    const byOther = await gql(srv.url, `mutation($s: StreamUpdateInput!) { streamUpdate(stream: $s) }`, { s: { id: streamId, name: 'mine now' } }, otherToken);
    expect(byOther.body.errors[0].extensions.code).toBe('FORBIDDEN');

    expect((await gql(srv.url, `mutation($id: String!) { streamDelete(id: $id) }`, { id: streamId }, otherToken)).body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await gql(srv.url, `mutation($id: String!) { streamDelete(id: $id) }`, { id: streamId }, ownerToken)).body.data.streamDelete).toBe(true);
    expect((await gql(srv.url, `query($p: String!) { project(id: $p) { id } }`, { p: streamId }, ownerToken)).body.errors[0].extensions.code).toBe('STREAM_NOT_FOUND');
  });

  it("serves the viewer URL resolver's stream(id){commit(id)} anonymously for public streams, with an empty Authorization header", async () => {
    const pub = await streamCreate({ name: 'Viewer public' });
    const priv = await streamCreate({ name: 'Viewer private', isPublic: false });
    const obj = 'f'.repeat(32);
    for (const s of [pub, priv]) await insertObject(s, obj);
    const cPub = (await commitCreate({ streamId: pub, branchName: 'main', objectId: obj })).body.data.commitCreate;
    const cPriv = (await commitCreate({ streamId: priv, branchName: 'main', objectId: obj })).body.data.commitCreate;
    const resolve = async (streamId: string, commitId: string) => {
      const res = await fetch(`${srv.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: '' },
        body: JSON.stringify({
          query: `query GetCommitObject($streamId: String!, $commitId: String!) { stream(id: $streamId) { commit(id: $commitId) { referencedObject } } }`,
          variables: { streamId, commitId },
        }),
      });
      return { status: res.status, body: await res.json() };
    };
    expect(await resolve(pub, cPub)).toEqual({ status: 200, body: { data: { stream: { commit: { referencedObject: obj } } } } });
    const denied = await resolve(priv, cPriv);
    expect(denied.status).toBe(200);
    expect(denied.body.data).toEqual({ stream: null });
    expect(denied.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('pages streams, branches and commits with cursors, and enforces the page size limits', async () => {
    const pager = await srv.createUser({ name: 'Pager' });
    const token = await srv.createToken(pager.id, ALL);
    const names = ['S1', 'S2', 'S3', 'Other thing'];
    for (const name of names) {
      await streamCreate({ name }, token);
      await tick();
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await gql(srv.url, `query($c: String) { streams(limit: 2, cursor: $c) { totalCount cursor items { name role } } }`, { c: cursor }, token);
      const page = r.body.data.streams;
      expect(page.totalCount).toBe(4);
      if (!page.items.length) break;
      seen.push(...page.items.map((s: { name: string }) => s.name));
      cursor = page.cursor;
    }
    expect(seen).toEqual([...names].reverse());
    const search = await gql(srv.url, `{ streams(query: "s2") { totalCount items { name } } }`, undefined, token);
    expect(search.body.data.streams).toEqual({ totalCount: 1, items: [{ name: 'S2' }] });
    const countOnly = await gql(srv.url, `{ streams(limit: 0) { totalCount items { id } } }`, undefined, token);
    expect(countOnly.body.data.streams).toEqual({ totalCount: 4, items: [] });
    const mineViaUser = await gql(srv.url, `{ activeUser { streams(limit: 10) { totalCount items { name } } } }`, undefined, token);
    expect(mineViaUser.body.data.activeUser.streams.totalCount).toBe(4);

    // branches: oldest first
    const streamId = await streamCreate({ name: 'Paged' }, token);
    for (const name of ['b1', 'b2', 'b3']) {
      await tick();
      await gql(srv.url, `mutation($b: BranchCreateInput!) { branchCreate(branch: $b) }`, { b: { streamId, name } }, token);
    }
    const branchNames: string[] = [];
    cursor = null;
    for (let i = 0; i < 10; i++) {
      const r = await gql(srv.url, `query($s: String!, $c: String) { stream(id: $s) { branches(limit: 3, cursor: $c) { totalCount cursor items { name } } } }`, { s: streamId, c: cursor }, token);
      const page = r.body.data.stream.branches;
      expect(page.totalCount).toBe(4);
      if (!page.items.length) break;
      branchNames.push(...page.items.map((b: { name: string }) => b.name));
      cursor = page.cursor;
    }
    expect(branchNames).toEqual(['main', 'b1', 'b2', 'b3']);
    const tooManyBranches = await gql(srv.url, `query($s: String!) { stream(id: $s) { branches(limit: 501) { totalCount } } }`, { s: streamId }, token);
    expect(tooManyBranches.body.errors[0]).toMatchObject({ message: 'Cannot return more than 500 items, please use pagination.', extensions: { code: 'BAD_REQUEST_ERROR' } });

    // commits: newest first
    const obj = '1'.repeat(32);
    await insertObject(streamId, obj);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      await tick();
      ids.push((await commitCreate({ streamId, branchName: 'b1', objectId: obj, message: `m${i}` }, token)).body.data.commitCreate);
    }
    const first = await gql(srv.url, `query($s: String!) { stream(id: $s) { commits(limit: 2) { totalCount cursor items { id } } } }`, { s: streamId }, token);
    const p1 = first.body.data.stream.commits;
    expect(p1.totalCount).toBe(3);
    expect(p1.items.map((c: { id: string }) => c.id)).toEqual([ids[2], ids[1]]);
    const second = await gql(srv.url, `query($s: String!, $c: String) { stream(id: $s) { branch(name: "b1") { commits(limit: 2, cursor: $c) { items { id } } } } }`, { s: streamId, c: p1.cursor }, token);
    expect(second.body.data.stream.branch.commits.items).toEqual([{ id: ids[0] }]);
    const tooManyCommits = await gql(srv.url, `query($s: String!) { stream(id: $s) { commits(limit: 101) { totalCount } } }`, { s: streamId }, token);
    expect(tooManyCommits.body.errors[0].message).toBe('Cannot return more than 100 items, please use pagination.');
    const authored = await gql(srv.url, `{ activeUser { commits(limit: 2) { totalCount items { id streamId } } } }`, undefined, token);
    expect(authored.body.data.activeUser.commits).toEqual({ totalCount: 3, items: [{ id: ids[2], streamId }, { id: ids[1], streamId }] });
  });
});
