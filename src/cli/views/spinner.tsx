// A live "waiting" line for people at a terminal (ink); scripts and CI get plain text instead.
import { useEffect, useState } from 'react';
import { Box, Text, render } from 'ink';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function Waiting({ lines, label }: { lines: string[]; label: string }) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setFrame((f) => (f + 1) % FRAMES.length), 80);
    return () => clearInterval(t);
  }, []);
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i}>{l}</Text>
      ))}
      <Text>
        <Text color="cyan">{FRAMES[frame]}</Text> {label}
      </Text>
    </Box>
  );
}

/** Shows the lines and a spinner until stop() is called. */
export function showWaiting(lines: string[], label: string): { stop(): void } {
  const app = render(<Waiting lines={lines} label={label} />);
  return {
    stop() {
      app.unmount();
    },
  };
}
