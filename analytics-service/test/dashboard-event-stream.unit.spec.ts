import { describe, expect, it } from 'vitest';
import { eventFrame, projectionChanges } from '../src/dashboard/change-stream';
import { EventStreamParser } from '../src/dashboard/client/event-stream';

const status = (name: string, position: number, head = position) => ({ name, position, head, lag: head - position, state: 'live' as const });

describe('the page reading an event stream (EventStreamParser)', () => {
  const text = ': heartbeat\n\nevent: ready\ndata: {"a":1}\n\nevent: changed\r\ndata: line one\r\ndata: line two\r\nid: 7\r\n\r\ndata: plain\r\r\n';

  it('reads events, joins multi-line data, drops comments and accepts LF, CRLF and CR line ends', () => {
    expect(new EventStreamParser().push(text)).toEqual([
      { event: 'ready', data: '{"a":1}' },
      { event: 'changed', data: 'line one\nline two', id: '7' },
      { event: 'message', data: 'plain', id: '7' },
    ]);
  });

  it('gives the same events whichever way the text is cut into chunks', () => {
    const whole = new EventStreamParser().push(text);
    for (let size = 1; size <= 7; size++) {
      const parser = new EventStreamParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      expect(events, `chunks of ${size}`).toEqual(whole);
    }
  });

  it('reads back what the server writes', () => {
    const data = { moved: ['revenue'], projections: [status('revenue', 3)] };
    const [event] = new EventStreamParser().push(eventFrame('changed', data));
    expect(event!.event).toBe('changed');
    expect(JSON.parse(event!.data)).toEqual(data);
  });
});

describe('what counts as a change of the projections (projectionChanges)', () => {
  it('names the projections whose position moved', () => {
    expect(projectionChanges([status('a', 1), status('b', 1)], [status('a', 2), status('b', 1, 2)])).toEqual({ moved: ['a'], changed: true });
  });

  it('reports a head that moved alone as a change with nothing moved (the lag shown changes)', () => {
    expect(projectionChanges([status('a', 1)], [status('a', 1, 5)])).toEqual({ moved: [], changed: true });
  });

  it('reports nothing when nothing moved', () => {
    expect(projectionChanges([status('a', 4, 6)], [status('a', 4, 6)])).toEqual({ moved: [], changed: false });
  });

  it('counts a rebuild starting or progressing as a move', () => {
    const rebuilding = { ...status('a', 4), state: 'rebuilding' as const, rebuildPosition: 1 };
    expect(projectionChanges([status('a', 4)], [rebuilding]).moved).toEqual(['a']);
    expect(projectionChanges([rebuilding], [{ ...rebuilding, rebuildPosition: 2 }]).moved).toEqual(['a']);
  });

  it('counts a projection it had not seen as moved', () => {
    expect(projectionChanges([], [status('a', 0)])).toEqual({ moved: ['a'], changed: true });
  });
});
