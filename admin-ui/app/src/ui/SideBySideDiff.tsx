// Two texts side by side, removed lines on the left in red, added on the right in green, unchanged lines on both
// (the `diff` package's line diff, paired up row by row so a changed line sits beside its replacement).
import { Box, ScrollArea, Table, Text } from '@mantine/core';
import { diffLines } from 'diff';
import { useMemo } from 'react';

interface Row {
  left?: string;
  right?: string;
  kind: 'same' | 'changed';
}

export function diffRows(before: string, after: string): Row[] {
  const rows: Row[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      const row: Row = { kind: 'changed' };
      if (removed[i] !== undefined) row.left = removed[i];
      if (added[i] !== undefined) row.right = added[i];
      rows.push(row);
    }
    removed = [];
    added = [];
  };
  for (const part of diffLines(before, after)) {
    const lines = part.value.replace(/\n$/, '').split('\n');
    if (part.removed) removed.push(...lines);
    else if (part.added) added.push(...lines);
    else {
      flush();
      for (const line of lines) rows.push({ left: line, right: line, kind: 'same' });
    }
  }
  flush();
  return rows;
}

function Cell({ text, color }: { text: string | undefined; color: string | undefined }) {
  return (
    <Table.Td p={0} bg={text === undefined ? 'gray.1' : color} w="50%">
      <Text component="pre" m={0} px="xs" size="xs" ff="monospace" style={{ whiteSpace: 'pre-wrap' }}>
        {text ?? ''}
      </Text>
    </Table.Td>
  );
}

export function SideBySideDiff({ before, after, labels }: { before: string; after: string; labels: [string, string] }) {
  const rows = useMemo(() => diffRows(before, after), [before, after]);
  const changes = rows.filter((r) => r.kind === 'changed').length;
  return (
    <Box>
      <Text size="sm" mb="xs" data-testid="diff-summary">
        {changes === 0 ? 'No differences.' : `${changes} changed line${changes === 1 ? '' : 's'}.`}
      </Text>
      <ScrollArea.Autosize mah={480} type="auto">
        <Table withColumnBorders withTableBorder verticalSpacing={0} aria-label="Differences between revisions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{labels[0]}</Table.Th>
              <Table.Th>{labels[1]}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their place in the diff
              <Table.Tr key={index} data-change={row.kind}>
                <Cell text={row.left} color={row.kind === 'changed' ? 'red.0' : undefined} />
                <Cell text={row.right} color={row.kind === 'changed' ? 'green.0' : undefined} />
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
    </Box>
  );
}
