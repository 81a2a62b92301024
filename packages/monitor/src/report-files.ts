import { join } from 'node:path'
import { describeFsError, writeFileAtomic } from '@redis-cluster/core'
import type { ClusterReport } from './report.ts'
import { renderReportHtml } from './report-html.ts'
import { REPORT_TEXTFILE, renderReportProm } from './report-prom.ts'

export interface ReportFiles {
  /** Write the HTML page to this file. */
  html?: string
  /** Write REPORT_TEXTFILE into this directory, for node_exporter's textfile collector. */
  textfile?: string
}

/**
 * Writes the report's files, each atomically (a reader never sees half a
 * file); an incomplete report is written too: `node_up 0` is what an alert
 * needs to see. A path we cannot write is the user's to fix (78, 75 when full).
 */
export async function writeReportFiles(report: ClusterReport, { html, textfile }: ReportFiles): Promise<void> {
  if (html) await writeFileAtomic(html, renderReportHtml(report)).catch((error) => Promise.reject(describeFsError(error, { otherwise: 'point --html at another file' })))
  if (textfile) await writeFileAtomic(join(textfile, REPORT_TEXTFILE), renderReportProm(report)).catch((error) => Promise.reject(describeFsError(error, { otherwise: 'point --textfile at another directory' })))
}
