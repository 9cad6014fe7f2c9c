/**
 * Older run.json files are read by upgrading them step by step, so their reports can be made again by this
 * hsm-bench. Version 2 (before operations) named its counts after signatures; version 3 names them after
 * operations. Version 3 had one number of sessions per token; version 4 has a list (a sessions sweep).
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
  if (v3.schemaVersion !== 3) return v3;
  const plan = v3.plan as Doc | undefined;
  return { ...v3, schemaVersion: 4, plan: plan && typeof plan.threadsPerToken === 'number' ? { ...plan, threadsPerToken: [plan.threadsPerToken] } : plan };
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
