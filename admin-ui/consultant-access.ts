// One use of a consultant link, for the page it opens (consultant-page.ts) and for the images behind it (the
// link's DICOMweb root, wired by composition/reading.ts). Every use and every refusal of a known link is audited
// with the exam as target; the audit records which resource was read, never the token, which is the credential.
import type { ConsultantLinks, LinkLookup } from '../exams/consultant-links.ts';
import type { ExamService } from '../exams/service.ts';
import type { ApiUser } from '../http/auth.ts';
import { HttpError } from '../http/http-error.ts';
import type { AuditLog } from './audit.ts';

export interface LinkUseDeps {
  links: ConsultantLinks;
  audit: AuditLog;
}

/** The path of a request under /consult/<token>, without the token: `/`, `/document`, `/dicomweb/studies/…`. */
export function pathAfterToken(path: string): string {
  return `/${path.split('/').slice(3).join('/')}`;
}

/** Opens the link a token names and audits the use (`action`) or the refusal. */
export async function useLink(deps: LinkUseDeps, token: string, action: string, path: string): Promise<LinkLookup> {
  const found = await deps.links.open(token);
  if (found.status === 'unknown') return found;
  const actor = `consultant-link:${found.link._id}`;
  const target = `exam:${found.link.examNumber}`;
  const resource = pathAfterToken(path);
  if (found.status === 'open')
    await deps.audit.record(actor, action, target, { linkId: found.link._id, path: resource });
  else
    await deps.audit.record(actor, 'consultant-link.refused', target, {
      linkId: found.link._id,
      status: found.status,
      path: resource,
    });
  return found;
}

/** What a link's token may read over DICOMweb: its exam's studies, of its facility, as the consultant role. */
export interface LinkReader {
  user: ApiUser;
  studies: ReadonlySet<string>;
}

/**
 * The DICOMweb access of a link: an unknown token is 404, a revoked or expired link 403 (it no longer grants
 * anything, and the reason may be told to whoever holds it); each image read is one audited use.
 */
export function linkImageAccess(deps: LinkUseDeps & { exams: ExamService }) {
  return async (token: string, path: string): Promise<LinkReader> => {
    const found = await useLink(deps, token, 'consultant-link.images', path);
    if (found.status === 'unknown') throw new HttpError(404, 'consultant link not found', { code: 'not-found' });
    if (found.status !== 'open')
      throw new HttpError(403, `this consultant link was ${found.status === 'revoked' ? 'revoked' : 'closed'}`, {
        code: 'forbidden',
      });
    const exam = await deps.exams.get(found.link.examNumber);
    if (!exam) throw new HttpError(404, 'the exam of this link is no longer kept', { code: 'not-found' });
    return {
      user: { name: `consultant-link:${found.link._id}`, roles: ['consultant'], facilities: [found.link.facility] },
      studies: new Set(exam.studies.map((study) => study.studyInstanceUid)),
    };
  };
}
