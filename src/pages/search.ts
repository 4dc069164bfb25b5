// Search → "Look for services": every service the catalogue knows (serf, mDNS, legacy tags,
// already merged there), grouped by type, nearest first, with the actions the plugin owning each
// type offers. Renders from memory only; a refresh is asked for in the background and never
// waited on. Everything from the catalogue came from other nodes: the template prints it with
// <%= %> only (text and attributes), plugin actions are validated here (local hrefs only).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Catalogue } from '../discovery/catalogue.js';
import type { CatalogueEntry } from '../discovery/record.js';
import { SERVICE_TYPE } from '../discovery/record.js';
import type { SearchAction } from '../registry/define-plugin.js';
import type { Registry } from '../registry/registry.js';

/** Rows per type on the overview (no type chosen); a "show all" link leads to the type's pages. */
export const ROWS_PER_TYPE = 25;
/** Rows per page once a type is chosen. */
export const ROWS_PER_PAGE = 100;
const SORTS = ['rtt', 'description', 'node'] as const;
type Sort = (typeof SORTS)[number];

/** One schema per filter: an invalid one is dropped (and reported), the others still apply. */
const FILTERS = {
  q: z.string().max(64).regex(/^[^\u0000-\u001f\u007f]*$/),
  type: z.string().regex(SERVICE_TYPE),
  health: z.enum(['up', 'down']),
  microcloud: z.string().max(32).regex(/^[^\u0000-\u001f\u007f]*$/),
  near: z.string().min(1).max(64).regex(/^[^\u0000-\u001f\u007f]*$/),
  sort: z.enum(SORTS),
  page: z.coerce.number().int().min(1).max(10_000),
} as const;
type FilterName = keyof typeof FILTERS;
export type SearchQuery = { [K in FilterName]?: z.infer<(typeof FILTERS)[K]> };

export function parseSearchQuery(raw: unknown): { query: SearchQuery; invalid: FilterName[] } {
  const input = raw && typeof raw === 'object' ? raw as Record<string, unknown> : {};
  const query: Record<string, unknown> = {};
  const invalid: FilterName[] = [];
  for (const name of Object.keys(FILTERS) as FilterName[]) {
    const value = input[name];
    if (value === undefined || value === '') continue;
    const parsed = typeof value === 'string' ? FILTERS[name].safeParse(value.trim()) : undefined;
    if (parsed?.success) {
      if (parsed.data !== '') query[name] = parsed.data;
    } else invalid.push(name);
  }
  return { query: query as SearchQuery, invalid };
}

/** The query string of a search (only validated values), for links and redirects. */
export function searchHref(query: SearchQuery, change: SearchQuery = {}): string {
  const merged: Record<string, unknown> = { ...query, ...change };
  const params = new URLSearchParams();
  for (const name of Object.keys(FILTERS) as FilterName[]) {
    const value = merged[name];
    if (value === undefined || value === '' || (name === 'sort' && value === 'rtt') || (name === 'page' && value === 1)) continue;
    params.set(name, String(value));
  }
  const qs = params.toString();
  return qs ? `/search?${qs}` : '/search';
}

/** "0.4 ms", "12 ms", "1.2 s"; "—" when unknown. */
export function formatRtt(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 10) return `${(Math.round(ms * 10) / 10).toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** CSS class for the RTT cell: near (green), medium, far (red), unknown. Fixed strings only. */
export function rttClass(ms: number | undefined): string {
  if (ms === undefined) return 'rtt-unknown';
  if (ms < 5) return 'rtt-near';
  if (ms < 50) return 'rtt-medium';
  return 'rtt-far';
}

// ── plugin actions ──

const LOCAL_HREF = /^\/(?![/\\])[^\s\\\u0000-\u001f\u007f]{0,511}$/;
const ActionSchema = z.object({
  label: z.string().regex(/^([a-z][a-z0-9-]{0,30}:)?[A-Za-z0-9_.-]{1,80}$/),
  kind: z.enum(['info', 'link', 'post']),
  text: z.string().max(200).optional(),
  href: z.string().regex(LOCAL_HREF).optional(),
  fields: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/), z.string().max(512)).optional(),
}).refine((a) => a.kind === 'info' || a.href !== undefined)
  .refine((a) => !a.fields || (Object.keys(a.fields).length <= 16 && !('_csrf' in a.fields)));

export interface SafeAction {
  label: string;
  kind: SearchAction['kind'];
  text?: string;
  href?: string;
  fields: [string, string][];
}

type ActionFn = (entry: CatalogueEntry) => SearchAction[];

/** type → the searchActions functions of every plugin that offers actions for it. */
export function actionProviders(registry: Registry): Map<string, { pluginId: string; fn: ActionFn }[]> {
  const providers = new Map<string, { pluginId: string; fn: ActionFn }[]>();
  for (const [pluginId, { plugin }] of registry.plugins) {
    for (const [type, fn] of Object.entries(plugin.searchActions ?? {})) {
      if (typeof fn !== 'function') continue;
      (providers.get(type) ?? providers.set(type, []).get(type)!).push({ pluginId, fn });
    }
  }
  return providers;
}

/** A plugin's actions for one entry, validated: a throwing plugin or a bad action yields nothing. */
export function actionsFor(entry: CatalogueEntry, providers: { pluginId: string; fn: ActionFn }[] | undefined, onDrop?: (pluginId: string, why: string) => void): SafeAction[] {
  const out: SafeAction[] = [];
  for (const { pluginId, fn } of providers ?? []) {
    let actions: unknown;
    try {
      // A copy: a plugin cannot change the catalogue's entry.
      actions = fn(structuredClone(entry));
    } catch (error) {
      onDrop?.(pluginId, `searchActions threw: ${(error as Error).message}`);
      continue;
    }
    if (!Array.isArray(actions)) continue;
    for (const action of actions.slice(0, 8)) {
      const parsed = ActionSchema.safeParse(action);
      if (!parsed.success) {
        onDrop?.(pluginId, 'invalid search action (only local hrefs starting with "/" are allowed)');
        continue;
      }
      const a = parsed.data;
      out.push({ label: a.label, kind: a.kind, text: a.text, href: a.kind === 'info' ? undefined : a.href, fields: Object.entries(a.fields ?? {}) });
    }
  }
  return out;
}

// ── the view ──

export interface SearchRow {
  entry: CatalogueEntry;
  /** Counts as up for the filter (node alive and health not down) */
  up: boolean;
  /** What the state badge says */
  state: 'up' | 'down' | 'unknown' | 'failed' | 'left';
  rtt?: number;
  rttText: string;
  rttClass: string;
  txt: [string, string][];
  actions: SafeAction[];
}

export interface SearchGroup {
  type: string;
  /** Services of this type matching the filters */
  count: number;
  rows: SearchRow[];
  /** Link to the rest when rows were cut */
  moreHref?: string;
}

interface Distance {
  /** RTT from the chosen origin to an entry's node, if known */
  rtt(entry: CatalogueEntry): number | undefined;
  /**
   * 'self': from this node. 'node': from the chosen node X (serf coordinates of X are known; the
   * catalogue ranks by them). 'fallback': X's coordinates are unknown, so only X's own services
   * are known to be at distance 0: they come first, the rest by distance from this node.
   */
  mode: 'self' | 'node' | 'fallback';
}

export function distanceFrom(catalogue: Catalogue, near: string | undefined): Distance {
  if (!near) return { mode: 'self', rtt: (e) => e.rttMs };
  if (catalogue.coordinate(near)) return { mode: 'node', rtt: (e) => (e.node === near ? 0 : e.rttMs) };
  return { mode: 'fallback', rtt: (e) => (e.node === near ? 0 : e.rttMs) };
}

/** Nearest first; unknown distances last; the chosen node's own services (0) lead. */
const byRtt = (rtt: (e: CatalogueEntry) => number | undefined) => (a: CatalogueEntry, b: CatalogueEntry) =>
  ((rtt(a) ?? Number.POSITIVE_INFINITY) - (rtt(b) ?? Number.POSITIVE_INFINITY)) || a.node.localeCompare(b.node) || a.port - b.port;

export interface SearchView {
  groups: SearchGroup[];
  total: number;
  shown: number;
  /** Every service in the catalogue (before filters) */
  catalogueSize: number;
  facets: ReturnType<Catalogue['facets']>;
  /** Suggestions for "near node" */
  nearNodes: string[];
  distance: Distance['mode'];
  nearUnknown: boolean;
  page: number;
  pages: number;
  updatedAt?: number;
}

/** Cache of what depends only on the catalogue's content (same array = same version). */
interface Snapshot {
  facets: ReturnType<Catalogue['facets']>;
  newest: number;
  nearest: string[];
  nodes: Set<string>;
  /** filter key → matching entries per type, sorted (most recent queries, bounded) */
  queries: Map<string, { type: string; entries: CatalogueEntry[] }[]>;
}
/**
 * What depends only on the catalogue's content, per version: Catalogue.all() returns the same
 * array until something changes, so it keys the cache (and lets old versions be collected).
 */
const snapshots = new WeakMap<object, Snapshot>();
const MAX_CACHED_QUERIES = 32;
/** Lower-case text the "q" filter matches, per entry object (entries are immutable per version). */
const haystacks = new WeakMap<CatalogueEntry, string>();
function haystack(e: CatalogueEntry): string {
  let text = haystacks.get(e);
  if (text === undefined) {
    text = `${e.description} ${e.node} ${e.host} ${e.addresses.join(' ')} ${e.microcloud} ${e.type} ${Object.values(e.txt).join(' ')}`.toLowerCase();
    haystacks.set(e, text);
  }
  return text;
}
/** Nodes suggested for "near node" (the nearest ones; any other name can be typed). */
export const NEAR_SUGGESTIONS = 100;

/** The per-version part of the page: facets, "near" suggestions, newest answer. */
function snapshotOf(catalogue: Catalogue): { all: CatalogueEntry[]; snapshot: Snapshot } {
  const all = catalogue.all();
  let snapshot = snapshots.get(all);
  if (!snapshot) {
    let newest = 0;
    const nodes = new Set<string>();
    const nearest: string[] = [];
    for (const e of all) { // nearest first
      if (e.lastSeen > newest) newest = e.lastSeen;
      if (!nodes.has(e.node)) {
        nodes.add(e.node);
        if (nearest.length < NEAR_SUGGESTIONS) nearest.push(e.node);
      }
    }
    snapshot = { facets: catalogue.facets(), newest, nearest, nodes, queries: new Map() };
    snapshots.set(all, snapshot);
  }
  return { all, snapshot };
}

/** Entries matching the filters, per type, in display order (cached per version and filters). */
function matchingGroups(catalogue: Catalogue, snapshot: Snapshot, query: SearchQuery, distance: Distance): { type: string; entries: CatalogueEntry[] }[] {
  const needle = query.q?.toLowerCase();
  const key = JSON.stringify([query.type, query.health, query.microcloud, needle, query.near, distance.mode, query.sort ?? 'rtt']);
  let matching = snapshot.queries.get(key);
  if (matching) return matching;
  const sorter = (query.sort ?? 'rtt') === 'rtt'
    ? (distance.mode === 'fallback' ? byRtt(distance.rtt) : undefined) // the catalogue already ranks by RTT (from X in 'node' mode)
    : query.sort === 'node'
      ? (a: CatalogueEntry, b: CatalogueEntry) => a.node.localeCompare(b.node) || a.port - b.port
      : (a: CatalogueEntry, b: CatalogueEntry) => a.description.localeCompare(b.description) || a.node.localeCompare(b.node);
  const near = distance.mode === 'node' ? query.near : undefined;
  matching = [];
  for (const group of catalogue.groups({ type: query.type, health: query.health, microcloud: query.microcloud, near })) {
    let entries = needle ? group.entries.filter((e) => haystack(e).includes(needle)) : group.entries;
    if (entries.length === 0) continue;
    if (sorter) entries = [...entries].sort(sorter);
    matching.push({ type: group.type, entries });
  }
  if (snapshot.queries.size >= MAX_CACHED_QUERIES) snapshot.queries.delete(snapshot.queries.keys().next().value!);
  snapshot.queries.set(key, matching);
  return matching;
}

/** Prepares the unfiltered view of the current catalogue version (no-op when it is ready). */
export function warmSearch(catalogue: Catalogue): void {
  const { snapshot } = snapshotOf(catalogue);
  matchingGroups(catalogue, snapshot, {}, distanceFrom(catalogue, undefined));
}

export function buildSearchView(catalogue: Catalogue, query: SearchQuery, providers: Map<string, { pluginId: string; fn: ActionFn }[]>, onDrop?: (pluginId: string, why: string) => void): SearchView {
  const { all, snapshot: cached } = snapshotOf(catalogue);
  const distance = distanceFrom(catalogue, query.near);
  const matching = matchingGroups(catalogue, cached, query, distance);

  const page = query.page ?? 1;
  let pages = 1;
  let total = 0;
  let shown = 0;
  const groups: SearchGroup[] = [];
  for (const { type, entries } of matching) {
    total += entries.length;
    let slice: CatalogueEntry[];
    let moreHref: string | undefined;
    if (query.type) {
      pages = Math.max(1, Math.ceil(entries.length / ROWS_PER_PAGE));
      const start = (Math.min(page, pages) - 1) * ROWS_PER_PAGE;
      slice = entries.slice(start, start + ROWS_PER_PAGE);
    } else {
      slice = entries.slice(0, ROWS_PER_TYPE);
      if (entries.length > slice.length) moreHref = searchHref(query, { type, page: 1 });
    }
    shown += slice.length;
    const typeProviders = providers.get(type);
    groups.push({
      type,
      count: entries.length,
      moreHref,
      rows: slice.map((entry) => {
        const rtt = distance.rtt(entry);
        return {
          entry,
          up: catalogue.isUp(entry),
          state: entry.nodeStatus !== 'alive' ? entry.nodeStatus : entry.health,
          rtt,
          rttText: formatRtt(rtt),
          rttClass: rttClass(rtt),
          txt: Object.entries(entry.txt),
          actions: actionsFor(entry, typeProviders, onDrop),
        };
      }),
    });
  }
  return {
    groups,
    total,
    shown,
    catalogueSize: all.length,
    facets: cached.facets,
    nearNodes: cached.nearest,
    distance: distance.mode,
    nearUnknown: Boolean(query.near && !cached.nodes.has(query.near)),
    page: Math.min(page, pages),
    pages,
    updatedAt: cached.newest || undefined,
  };
}

/** "N s ago" in the user's language. */
function ago(t: FastifyRequest['t'], at: number | undefined, now = Date.now()): string {
  if (!at) return t('search.neverUpdated');
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 90) return t('search.updatedSeconds', { count: seconds });
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return t('search.updatedMinutes', { count: minutes });
  return t('search.updatedHours', { count: Math.round(minutes / 60) });
}

/** Optional sources' refresh hooks, looked up at request time (serf discovery is added elsewhere). */
interface Refreshable {
  refresh?: () => unknown;
  refreshOnce?: () => unknown;
  lastRefresh?: unknown;
  snapshot?: () => { lastRefresh?: unknown } | undefined;
}
const timeOf = (value: unknown): number | undefined =>
  typeof value === 'number' && value > 0 ? value : value instanceof Date ? value.getTime() : undefined;

const WARM_EVERY_MS = 1000;
const WARM_WHILE_USED_MS = 10 * 60_000;

const RefreshFormSchema = z.object({ back: z.string().max(600).regex(/^[A-Za-z0-9=&%._~+-]*$/).default('') });

export async function searchPages(app: FastifyInstance, opts: { catalogue: () => Catalogue; registry: Registry }) {
  const sources = (): Refreshable[] => {
    const list: Refreshable[] = [];
    for (const name of ['discovery', 'mdns']) {
      const source = (app as unknown as Record<string, unknown>)[name];
      if (source && typeof source === 'object') list.push(source as Refreshable);
    }
    return list;
  };
  const warned = new Set<string>();
  const onDrop = (pluginId: string, why: string) => {
    if (warned.has(pluginId + why)) return;
    warned.add(pluginId + why);
    app.log.warn({ plugin: pluginId }, why);
  };

  // While someone uses the page, rebuild its cached view soon after the catalogue changes (a
  // refresh), so a page view rarely pays for the catalogue's re-merge. Idle otherwise.
  let lastView = 0;
  let warmer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    warmer = setInterval(() => {
      if (Date.now() - lastView > WARM_WHILE_USED_MS) return;
      try {
        warmSearch(opts.catalogue());
      } catch (error) {
        app.log.warn({ err: error }, 'search: warming the view failed');
      }
    }, WARM_EVERY_MS);
    warmer.unref();
  });
  app.addHook('onClose', async () => clearInterval(warmer));

  app.get('/search', async (request, reply) => {
    lastView = Date.now();
    const { query, invalid } = parseSearchQuery(request.query);
    const catalogue = opts.catalogue();
    const view = buildSearchView(catalogue, query, actionProviders(opts.registry), onDrop);
    let updatedAt = view.updatedAt;
    for (const source of sources()) {
      let at = timeOf(source.lastRefresh);
      try {
        if (typeof source.snapshot === 'function') at ??= timeOf(source.snapshot()?.lastRefresh);
      } catch { /* a broken source must not break the page */ }
      if (at && (!updatedAt || at > updatedAt)) updatedAt = at;
    }
    const mdns = app.panelConfig.settings.mdns;
    return reply.page('views/pages/search.eta', {
      title: 'search.title',
      query,
      invalid,
      view,
      updatedAgo: ago(request.t, updatedAt),
      updatedAt: updatedAt ?? 0,
      href: (change: SearchQuery) => searchHref(query, change),
      back: searchHref(query).replace(/^\/search\??/, ''),
      serfPlugin: opts.registry.plugins.has('serf'),
      mdns: { on: Boolean(mdns.enabled && mdns.interface), interface: mdns.interface },
    });
  });

  /** Asks every source for a refresh in the background; the page never waits for the network. */
  app.post('/search/refresh', async (request, reply) => {
    for (const source of sources()) {
      const refresh = typeof source.refresh === 'function' ? source.refresh : source.refreshOnce;
      if (typeof refresh !== 'function') continue;
      try {
        const result = refresh.call(source);
        if (result instanceof Promise) result.catch((error: unknown) => request.log.warn({ err: error }, 'search refresh failed'));
      } catch (error) {
        request.log.warn({ err: error }, 'search refresh failed');
      }
    }
    request.flash('info', 'search.refreshing');
    const form = RefreshFormSchema.safeParse(request.body ?? {});
    const back = form.success ? form.data.back : '';
    return reply.redirect(back ? `/search?${back}` : '/search', 303);
  });
}
