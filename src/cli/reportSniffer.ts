import { headKind } from '../../analyzers/fileHead';

/**
 * Whether a file is a saved report rather than a log, from its head (LogFile.head(), the first
 * 64 KiB): the first of its top-level keys that only one of them has decides, whatever the key
 * order (a report re-saved with sorted keys, the seed's own order) and after a UTF-8 BOM.
 */
export function startsLikeReport(head: string): boolean {
  return headKind(head) === 'report';
}
