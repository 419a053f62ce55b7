// The group directory: which members a group rings, and which group member a single user names.
import { readFileSync } from 'node:fs';
import { parseSipUri } from './sip-parser.js';
import type { HostPort } from './config.js';

export interface Member {
  uri: string;
  user: string;
  target: HostPort;
}

export interface GroupDirectory {
  groups: Map<string, Member[]>;
  /** Single members by user part, e.g. "m2". */
  users: Map<string, Member>;
}

export class GroupsError extends Error {}

/** Parse `{"groups": {"g4": ["sip:m1@127.0.0.1:6001", ...]}}`; errors name the group and the fix. */
export function parseGroups(text: string, source = 'groups.json'): GroupDirectory {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new GroupsError(`${source}: not valid JSON (${(e as Error).message}); expected {"groups": {"g4": ["sip:m1@127.0.0.1:6001", ...]}}`);
  }
  const groupsObj = (data as { groups?: unknown } | null)?.groups;
  if (!groupsObj || typeof groupsObj !== 'object' || Array.isArray(groupsObj)) {
    throw new GroupsError(`${source}: missing "groups" object; expected {"groups": {"g4": ["sip:m1@127.0.0.1:6001", ...]}}`);
  }
  const dir: GroupDirectory = { groups: new Map(), users: new Map() };
  for (const [name, list] of Object.entries(groupsObj as Record<string, unknown>)) {
    if (!Array.isArray(list) || list.length === 0) throw new GroupsError(`${source}: group "${name}" must be a non-empty array of SIP URIs`);
    const members: Member[] = list.map((u, i) => {
      const uri = typeof u === 'string' ? parseSipUri(u) : undefined;
      if (!uri || !uri.user) throw new GroupsError(`${source}: group "${name}" member ${i + 1} (${JSON.stringify(u)}) is not a SIP URI like sip:m1@127.0.0.1:6001`);
      return { uri: u as string, user: uri.user, target: { host: uri.host, port: uri.port } };
    });
    dir.groups.set(name, members);
    for (const m of members) dir.users.set(m.user, m);
  }
  return dir;
}

export function loadGroups(path: string): GroupDirectory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GroupsError(`cannot read groups file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; pass --groups <file>`);
  }
  return parseGroups(text, path);
}

/** Member j (0-based) belongs to fork node (j mod K) + 1: round robin keeps shards within one member of each other. */
export function shardOf(members: Member[], index: number, count: number): Member[] {
  return members.filter((_m, j) => j % count === index - 1);
}
