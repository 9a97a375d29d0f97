// The HTML of the consultant's page (consultant-page.ts): escaping, the frame with its one styled block, and the
// study's series with their instances. Kept apart from the routes so the markup reads as markup.
import type { Exam } from '../exams/exam.ts';
import type { InstanceRecord } from '../exams/study-records.ts';

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

const style = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1a1b1e; background: #f8f9fa; }
header { background: #1c7ed6; color: white; padding: 12px 24px; font-weight: 600; }
main { max-width: 960px; margin: 24px auto; background: white; padding: 16px 32px 32px; border-radius: 8px;
  box-shadow: 0 1px 3px rgb(0 0 0 / 0.1); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dt { color: #555; } dd { margin: 0; font-weight: 500; }
.text { white-space: pre-wrap; } .state { color: #555; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #dee2e6; }
details { margin-top: 4px; } code { font-size: 13px; }
`;

export function pageHtml(title: string, body: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)} · RSO hub</title>
<style nonce="${nonce}">${style}</style></head>
<body><header>RSO hub · consultant view (read-only)</header>
<main><h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>
`;
}

/** One row per series (number, modality, description, instance count), its instances listed on demand. */
export function seriesTable(instances: readonly InstanceRecord[]): string {
  if (instances.length === 0) return '<p>No images received yet.</p>';
  const series = new Map<string, InstanceRecord[]>();
  for (const instance of instances) {
    const list = series.get(instance.seriesInstanceUid) ?? [];
    list.push(instance);
    series.set(instance.seriesInstanceUid, list);
  }
  const rows = [...series.values()].map((list) => {
    const first = list[0]!;
    const items = list
      .map((i) => `<li>Instance ${i.instanceNumber ?? '–'} <code>${escapeHtml(i._id)}</code></li>`)
      .join('');
    const cells = [
      String(first.seriesNumber ?? '–'),
      first.modality ?? '–',
      first.seriesDescription ?? '–',
      `<details><summary>${list.length} instance${list.length === 1 ? '' : 's'}</summary><ul>${items}</ul></details>`,
    ];
    return `<tr>${cells.map((c, i) => `<td>${i === 3 ? c : escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  return `<table><thead><tr><th>Series</th><th>Modality</th><th>Description</th><th>Instances</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

/** A link to the viewer for each study of the exam that has images (the viewer reads them with the link's token). */
export function imagesLinks(studies: Exam['studies'], instances: readonly InstanceRecord[], token: string): string {
  const shown = studies.filter((study) => instances.some((i) => i.studyInstanceUid === study.studyInstanceUid));
  const items = shown.map((study, n) => {
    const href = `/consult/${encodeURIComponent(token)}/viewer/${encodeURIComponent(study.studyInstanceUid)}`;
    const label = shown.length === 1 ? 'View the images' : `View the images of study ${n + 1}`;
    return `<li><a href="${escapeHtml(href)}">${escapeHtml(label)}</a></li>`;
  });
  return items.length === 0 ? '' : `<ul class="viewer-links">${items.join('')}</ul>`;
}
