// What the SCP accepts of an A-ASSOCIATE-RQ (PS3.8 9.3.2, PS3.7 D.3.3.4): verification, storage, and the query and
// retrieve SOP classes it has services for, each in the first proposed transfer syntax it can use; and, for C-GET,
// the requester's offer to act as the SCP of storage SOP classes, so the hub may send it C-STORE sub-operations.
import { verificationSopClass } from './command.ts';
import { transferSyntax as transferSyntaxes } from './part10.ts';
import { type AcceptedContext, type AssociateRq, contextResult, type RoleSelection } from './pdu.ts';
import { acceptedTransferSyntaxes, isStorageSopClass } from './sop-classes.ts';

export interface NegotiatedContext {
  abstractSyntax: string;
  transferSyntax: string;
}

export interface Negotiated {
  results: AcceptedContext[];
  contexts: Map<number, NegotiatedContext>;
  /** Answers to the requester's role selections. */
  roles: RoleSelection[];
  /** Storage SOP classes whose SCP the requester is, on this association (C-GET sends it those). */
  requesterScp: Set<string>;
}

/** The SOP classes with a query or retrieve service, and whether C-GET is offered at all. */
export interface Offered {
  services: ReadonlySet<string>;
  retrievesByGet: boolean;
}

export function negotiate(rq: AssociateRq, offered: Offered): Negotiated {
  const contexts = new Map<number, NegotiatedContext>();
  const results = rq.contexts.map((context) => {
    const result = negotiateContext(context.id, context.abstractSyntax, context.transferSyntaxes, offered);
    if (result.result === contextResult.accept)
      contexts.set(context.id, { abstractSyntax: context.abstractSyntax, transferSyntax: result.transferSyntax });
    return result;
  });
  const roles: RoleSelection[] = [];
  const requesterScp = new Set<string>();
  for (const role of rq.roles ?? []) {
    if (!offered.retrievesByGet || !role.scp || !isStorageSopClass(role.sopClassUid)) continue;
    roles.push({ sopClassUid: role.sopClassUid, scu: role.scu, scp: true });
    requesterScp.add(role.sopClassUid);
  }
  return { results, contexts, roles, requesterScp };
}

function negotiateContext(id: number, abstractSyntax: string, proposed: string[], offered: Offered): AcceptedContext {
  const query = offered.services.has(abstractSyntax);
  const supported = abstractSyntax === verificationSopClass || isStorageSopClass(abstractSyntax) || query;
  if (!supported) return { id, result: contextResult.abstractSyntax, transferSyntax: proposed[0] ?? '' };
  // The proposer lists its preference first (PS3.8 9.3.2.2); take the first we can store unchanged (an
  // identifier only in the uncompressed syntaxes dicom/dataset-codec.ts reads).
  const transferSyntax = proposed.find((ts) =>
    query
      ? ts === transferSyntaxes.implicitLittle || ts === transferSyntaxes.explicitLittle
      : acceptedTransferSyntaxes.has(ts),
  );
  if (transferSyntax === undefined)
    return { id, result: contextResult.transferSyntaxes, transferSyntax: proposed[0] ?? '' };
  return { id, result: contextResult.accept, transferSyntax };
}
