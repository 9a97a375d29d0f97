// The MongoDB engine: the official driver, unchanged. The database is the one named in the URL's path
// (mongodb://host/hub), as MongoClient.db() picks it; without one the driver's default, 'test'.
import { MongoClient, type Db } from 'mongodb';
import type { HubDb, Store } from './db.ts';
import type { Logger } from '../runtime/log.ts';

// Compile-time proof that the driver's Db is a HubDb: if store/db.ts ever asks for something the driver does
// not have (or with another signature), this line stops `tsc` instead of a production process.
const driverSatisfiesContract = (db: Db): HubDb => db;
void driverSatisfiesContract;

export class MongoStore implements Store {
  readonly engine = 'mongodb' as const;
  readonly db: HubDb;
  readonly #client: MongoClient;

  private constructor(client: MongoClient, db: Db) {
    this.#client = client;
    this.db = db;
  }

  static async connect(url: string, log: Logger): Promise<MongoStore> {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
    const db = client.db();
    log.info('store opened', { engine: 'mongodb', database: db.databaseName });
    return new MongoStore(client, db);
  }

  async ping(): Promise<boolean> {
    try {
      const db = this.db as unknown as Db;
      const answer = await db.command({ ping: 1 });
      return answer['ok'] === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
