import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { Leadership, Leases, clusterMigrations } from '../../src/cluster/index.js';
import { migrate, openMetadataStore, type MetadataStore } from '../../src/storage/metadata.js';
import { dropSchema, freshPostgresUri, postgresSkip, tempDir } from '../helpers/services.js';
import { parseStoreUri } from '../../src/config.js';

const pgSkip = await postgresSkip();

async function contract(open: () => Promise<MetadataStore>): Promise<void> {
  const store = await open();
  try {
    await migrate(store, clusterMigrations);
    const clock = new ManualClock(1_000);
    const leases = new Leases(store.db, clock);
    const a = new Leadership(leases, 'x', 'replica-a', 10_000);
    const b = new Leadership(leases, 'x', 'replica-b', 10_000);
    assert.equal(await a.lead(), true);
    assert.equal(a.token, 1);
    assert.equal(await b.lead(), false, 'a lease held and unexpired is refused');
    clock.advance(9_000);
    assert.equal(await a.lead(), true, 'the holder renews');
    assert.equal(a.token, 1, 'renewal keeps the token');
    clock.advance(9_999);
    assert.equal(await b.lead(), false);
    // a stops renewing (it died): b takes over once the lease has run out, with the next token.
    clock.advance(2);
    assert.equal(await b.lead(), true);
    assert.equal(b.token, 2);
    assert.equal(await a.stillLeads(), false, 'the old leader fails the fencing check');
    assert.equal(await a.lead(), false);
    assert.equal(await b.stillLeads(), true);
    // A graceful shutdown hands over at the successor's next check.
    await b.release();
    assert.equal(await a.lead(), true);
    assert.equal(a.token, 3);
    // Racing for a free lease: exactly one of many wins.
    const racers = Array.from({ length: 8 }, (_, i) => new Leadership(leases, 'race', `r${i}`, 10_000));
    const won = await Promise.all(racers.map((r) => r.lead()));
    assert.equal(won.filter(Boolean).length, 1);
    // The winner dies; the others race for its expired lease: one of them wins, with token 2.
    clock.advance(10_001);
    const rest = racers.filter((r) => r.token === undefined);
    const again = await Promise.all(rest.map((r) => r.lead()));
    assert.equal(again.filter(Boolean).length, 1);
    assert.equal(rest.find((r) => r.token !== undefined)?.token, 2);
    // The holder of an expired lease renews it just as another replica takes it over: one of them leads, never both.
    const [p, q] = [new Leadership(leases, 'handover', 'p', 10_000), new Leadership(leases, 'handover', 'q', 10_000)];
    assert.equal(await p.lead(), true);
    for (let round = 0; round < 20; round++) {
      clock.advance(10_001);
      const holder = p.token !== undefined ? p : q;
      const other = holder === p ? q : p;
      const led = await Promise.all([holder.lead(), other.lead()]);
      assert.equal(led.filter(Boolean).length, 1, `round ${round}: ${led}`);
      const [view] = (await leases.list()).filter((l) => l.name === 'handover');
      assert.equal(view.holder, led[0] ? holder === p ? 'p' : 'q' : holder === p ? 'q' : 'p');
      assert.equal(await (led[0] ? holder : other).stillLeads(), true);
      if (!led[0]) assert.equal(await holder.stillLeads(), false);
    }
  } finally {
    await store.close();
  }
}

describe('leases', () => {
  test('SQLite: one holder, renewal, takeover after expiry with the next fencing token, release', async () => {
    await contract(() => openMetadataStore(parseStoreUri(`sqlite:${tempDir('lease')}/m.db`)));
  });

  describe('PostgreSQL', { skip: pgSkip }, () => {
    const { uri, schema } = freshPostgresUri();
    after(() => dropSchema(schema));
    test('the same contract, with concurrent racers on a pool', async () => {
      await contract(() => openMetadataStore(parseStoreUri(uri)));
    });
  });
});
