import type { FastifyRequest } from 'fastify';
import { MAX_BUNDLE_ENTRIES, parseTilePath, type Ledger } from '../../ledger/index.ts';
import type { WaiverStore } from '../../policies/index.ts';
import type { Region } from '../../regions/index.ts';
import {
  assertCoversRegion,
  assertInScope,
  AuthError,
  coversRegion,
  isInScope,
  type Identity,
} from '../auth/index.ts';
import { ServerError } from '../errors.ts';
import { auditCitations } from '../ledger-entries.ts';
import { callerOf, type Handlers } from './types.ts';

interface RegionParams {
  region: string;
}

/**
 * Full tiles never change; partial tiles and checkpoints do. `private`: they are served to authenticated
 * callers only, and entry bundles hold decisions, so no shared cache may hand them to anybody else.
 */
const IMMUTABLE = 'private, max-age=31536000, immutable';

/** The model an entry is about (a decision's, a waiver's, an attestation's subject's), if any. */
function modelOf(entry: Record<string, unknown>): unknown {
  const subject = entry.subject as { model?: unknown } | null | undefined;
  return entry.model ?? subject?.model;
}

/**
 * An identity limited to some models reads only the entries about one of them; entries about no model (policy
 * activations, reports) speak for the whole region, as do bundles and entry tiles, which hold every entry.
 */
function assertMayRead(caller: Identity, region: string, entry: Record<string, unknown>): void {
  if (coversRegion(caller, region)) return;
  const model = modelOf(entry);
  if (typeof model === 'string' && isInScope(caller, { region, model })) return;
  throw new AuthError(
    'FORBIDDEN',
    `this identity may not read entry ${String(entry.type)} outside its models`,
    `${caller.issuer}/${caller.subject} (${caller.role}) is limited to models ${caller.scope?.models?.join(', ') ?? ''}; the entry is about ${typeof model === 'string' ? model : 'no model'}`,
  );
}

export function ledgerHandlers(
  ledger: Ledger,
  waivers: WaiverStore,
  regions: ReadonlyMap<string, Region>,
  clock: () => Date,
): Handlers {
  // Every ledger route is about one region: a caller limited to other regions is refused before anything is
  // read. Hashes, proofs and checkpoints reveal no decision, so a caller limited to some models gets those.
  const regionOf = (request: FastifyRequest): string => {
    const { region } = request.params as RegionParams;
    if (!regions.has(region)) throw new ServerError('NOT_FOUND', `no region ${region}`);
    assertInScope(callerOf(request), { region });
    return region;
  };
  const reader = ledger.reader;
  return {
    listRegions: async () => ({
      regions: [...regions.values()].map((r) => ({
        id: r.id,
        name: r.name,
        timezone: r.timezone,
        locale: r.locale,
        ledger: r.ledger,
        retention: r.retention,
        regulations: r.regulations,
        reports: r.reports,
      })),
    }),
    getCheckpoint: async (request, reply) =>
      reply.type('text/plain; charset=utf-8').send(await reader.checkpoint(regionOf(request))),
    getTlogCheckpoint: async (request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(await reader.checkpoint(regionOf(request))),
    getLedgerKeys: async (request) => reader.keys(regionOf(request)),
    getLedgerEntry: async (request) => {
      const { seq } = request.params as { seq: number };
      const region = regionOf(request);
      const record = await reader.entry(region, seq);
      assertMayRead(callerOf(request), region, record.entry);
      return record;
    },
    getInclusionProof: async (request) => {
      const { seq, size } = request.query as { seq: number; size: number };
      return reader.inclusionProof(regionOf(request), seq, size);
    },
    getConsistencyProof: async (request) => {
      const { from, to } = request.query as { from: number; to: number };
      return reader.consistencyProof(regionOf(request), from, to);
    },
    listAnchors: async (request) => ({ anchors: await reader.anchors(regionOf(request)) }),
    getAuditBundle: async (request) => {
      const region = regionOf(request);
      assertCoversRegion(callerOf(request), region);
      const query = request.query as { from?: number; to?: number; trusted_size?: number };
      const { size } = await reader.treeHead(region);
      const trustedSize = query.trusted_size;
      // The reader would answer 404 (not integrated yet); for the caller it is a bad argument to this call.
      if (trustedSize !== undefined && trustedSize > size)
        throw new ServerError('BAD_REQUEST', `trusted_size ${trustedSize} exceeds the tree size ${size}`, {
          field: 'trusted_size',
        });
      // Without `to`, as many entries as one bundle holds: a log past that size would otherwise answer 400
      // to a request that names no range at all.
      const from = query.from ?? 0;
      const to = query.to ?? Math.min(size, from + MAX_BUNDLE_ENTRIES);
      return reader.bundle(region, from, to, {
        trustedSize,
        cite: auditCitations(reader, waivers, region, from),
      });
    },
    createAttestation: async (request, reply) => {
      const region = regionOf(request);
      const body = request.body as { statement: string; subject?: object; references?: string[] };
      const caller = callerOf(request);
      // An attestation about a model needs that model in the caller's scope; one about no model speaks for
      // the whole region.
      const model = (body.subject as { model?: unknown } | undefined)?.model;
      if (typeof model === 'string') assertInScope(caller, { region, model });
      else assertCoversRegion(caller, region);
      const receipt = await ledger.append(region, {
        type: 'attestation',
        statement: body.statement,
        subject: body.subject ?? null,
        references: body.references ?? [],
        actor: { subject: caller.subject, issuer: caller.issuer, role: caller.role },
        at: clock().toISOString(),
      });
      return reply.status(201).send({ region, seq: receipt.seq, leaf_hash: receipt.leafHash });
    },
    getTlogTile: {
      url: '/v1/ledger/:region/tlog/tile/*',
      schema: {
        params: {
          type: 'object',
          required: ['region', '*'],
          properties: {
            region: { type: 'string', pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' },
            '*': { type: 'string' },
          },
        },
      },
      handler: async (request, reply) => {
        const region = regionOf(request);
        const rest = (request.params as { '*': string })['*'];
        const tile = parseTilePath(`tile/${rest}`);
        if (!tile) throw new ServerError('NOT_FOUND', `no tile ${rest}`);
        if (tile.kind === 'entries') assertCoversRegion(callerOf(request), region);
        const bytes =
          tile.kind === 'entries'
            ? await reader.entryBundle(region, tile.index, tile.width)
            : await reader.tile(region, tile.level, tile.index, tile.width);
        return reply
          .type('application/octet-stream')
          .header('cache-control', tile.width === undefined ? IMMUTABLE : 'no-cache')
          .send(Buffer.from(bytes));
      },
    },
  };
}
