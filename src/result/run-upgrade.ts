/**
 * Older run.json files are read by upgrading them step by step, so their reports can be made again by this
 * hsm-bench. Version 2 (before operations) named its counts after signatures; version 3 names them after
 * operations. Version 3 had one number of sessions per token; version 4 has a list (a sessions sweep). Version 4
 * written before stalls were measured (no configurations[].stalls) counted only the outages that ended; version 5
 * counts one still open at the end too.
 */
const RENAMED: Record<string, string> = {
  signaturesOk: 'operationsOk',
  signaturesFailed: 'operationsFailed',
  signaturesVerified: 'operationsVerified',
  signaturesVerifiedLate: 'operationsVerifiedLate',
  signaturesPerToken: 'operationsPerToken',
  totalSignatures: 'totalOperations',
  warmupSignaturesPerToken: 'warmupOperationsPerToken',
};

type Doc = Record<string, unknown>;

const renamed = (o: unknown): unknown => (o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).map(([k, v]) => [RENAMED[k] ?? k, v])) : o);

/** The document as the current version; a current document is returned as it is. */
export function upgradeRunJson(doc: Doc): Doc {
  const v3 = doc.schemaVersion === 2 ? fromVersion2(doc) : doc;
  const v4 = v3.schemaVersion === 3 ? fromVersion3(v3) : v3;
  return v4.schemaVersion === 4 ? fromVersion4(v4) : v4;
}

function fromVersion2(doc: Doc): Doc {
  const configurations = Array.isArray(doc.configurations)
    ? doc.configurations.map((c) => {
        const r = renamed(c) as Doc;
        return {
          ...r,
          ...(Array.isArray(r.perToken) ? { perToken: r.perToken.map(renamed) } : {}),
          ...(Array.isArray(r.repetitions) ? { repetitions: r.repetitions.map(renamed) } : {}),
        };
      })
    : doc.configurations;
  return { ...doc, schemaVersion: 3, plan: renamed(doc.plan), configurations };
}

function fromVersion3(doc: Doc): Doc {
  const plan = doc.plan as Doc | undefined;
  return { ...doc, schemaVersion: 4, plan: plan && typeof plan.threadsPerToken === 'number' ? { ...plan, threadsPerToken: [plan.threadsPerToken] } : plan };
}

function fromVersion4(doc: Doc): Doc {
  const configurations = Array.isArray(doc.configurations) ? doc.configurations.map((c: Doc) => (c === null || typeof c !== 'object' || 'stalls' in c ? c : withOpenOutages(c))) : doc.configurations;
  return { ...doc, schemaVersion: 5, configurations };
}

/**
 * A configuration measured before stalls: its tokens' streaks of failures still open at the end (stillFailingS)
 * were no outage, so a token lost for the whole run read "0 outages". Each is one now, to the end of the window, as
 * the current count has it, unless it was a last failed call alone: the token was not lost (no worker issue, no hung
 * session) and had no failure beyond one per outage that ended (each ended outage held one at least).
 */
function withOpenOutages(c: Doc): Doc {
  if (!Array.isArray(c.perToken)) return c;
  const tokensOf = (list: unknown) => (Array.isArray(list) ? list.map((x: { token?: unknown }) => x?.token) : []);
  const lost = new Set([...tokensOf(c.workerIssues), ...tokensOf(c.hungSessions)]);
  const perToken = c.perToken.map((t: Doc) => {
    const { stillFailingS, outages, outageS, operationsFailed } = t ?? {};
    if (typeof stillFailingS !== 'number' || typeof outages !== 'number' || typeof outageS !== 'number' || typeof operationsFailed !== 'number') return t;
    if (!lost.has(t.token) && operationsFailed - outages <= 1) return t;
    return { ...t, outages: outages + 1, outageS: Math.round((outageS + stillFailingS) * 1000) / 1000 };
  });
  return { ...c, perToken };
}
