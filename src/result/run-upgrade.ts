/**
 * Runs written before operations (schema version 2) named their counts after signatures; version 3 names them after
 * operations. A version-2 run is read by renaming, so its reports can be made again by this hsm-bench.
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

/** The document as version 3; a version-3 document is returned as it is. */
export function upgradeRunJson(doc: Doc): Doc {
  if (doc.schemaVersion !== 2) return doc;
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
