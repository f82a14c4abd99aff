// `agentdb request ls --watch` for a person at a terminal: the list, refreshed every second.
import { useEffect, useState } from 'react';
import { Box, Text, render, useApp, useInput } from 'ink';
import { requestsTable, type RequestView } from '../commands/request/view.js';

function Watch({ fetch }: { fetch: () => Promise<RequestView[]> }) {
  const [list, setList] = useState<RequestView[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const { exit } = useApp();
  useInput((input) => {
    if (input === 'q') exit();
  });
  useEffect(() => {
    let alive = true;
    const tick = () =>
      fetch().then(
        (l) => alive && (setList(l), setError(undefined)),
        (e: Error) => alive && setError(e.message),
      );
    void tick();
    const t = setInterval(tick, 1000);
    return () => {
      alive = false;
      clearInterval(t);
    };
  }, [fetch]);
  const pending = list?.filter((r) => r.state === 'pending').length ?? 0;
  return (
    <Box flexDirection="column">
      <Text bold>
        {pending} pending · refreshed every second · q to quit
      </Text>
      {error ? <Text color="red">{error}</Text> : null}
      <Text>{list === undefined ? 'Loading…' : list.length ? requestsTable(list) : 'No requests.'}</Text>
    </Box>
  );
}

export async function watchRequests(fetch: () => Promise<RequestView[]>): Promise<void> {
  const app = render(<Watch fetch={fetch} />);
  await app.waitUntilExit();
}
