import { describe, expect, it } from 'vitest';
import { endOfEpoch } from '../../../plugins/kafka/apis/offset-for-leader-epoch.js';

describe('where a leader epoch ends', () => {
  const history = [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 100 },
    { epoch: 4, startOffset: 250 },
  ];

  it('ends the current epoch at the log end', () => {
    expect(endOfEpoch(history, 4, 300, 4)).toEqual({ leaderEpoch: 4, endOffset: 300 });
  });

  it('ends an older epoch where the next one starts', () => {
    expect(endOfEpoch(history, 4, 300, 1)).toEqual({ leaderEpoch: 1, endOffset: 100 });
    expect(endOfEpoch(history, 4, 300, 3)).toEqual({ leaderEpoch: 3, endOffset: 250 });
  });

  it('answers an epoch this partition never had with the one before it', () => {
    // Epoch 2 went to another broker that never wrote: it ended where epoch 3 began.
    expect(endOfEpoch(history, 4, 300, 2)).toEqual({ leaderEpoch: 1, endOffset: 100 });
  });

  it('answers an epoch older than all it knows with the start of the first', () => {
    expect(endOfEpoch(history, 4, 300, 0)).toEqual({ leaderEpoch: 0, endOffset: 0 });
  });

  it('cannot place an undefined epoch or one newer than the current', () => {
    expect(endOfEpoch(history, 4, 300, -1)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    expect(endOfEpoch(history, 4, 300, 7)).toEqual({ leaderEpoch: -1, endOffset: -1 });
  });
});
