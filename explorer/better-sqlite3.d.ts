// The part of better-sqlite3's API the explorer uses (the package ships no type declarations).
declare module "better-sqlite3" {
  interface RunResult {
    changes: number;
  }
  interface Statement {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
  }
  interface Database {
    prepare(sql: string): Statement;
    exec(sql: string): Database;
    pragma(sql: string): unknown;
    close(): void;
    readonly inTransaction: boolean;
  }
  interface Options {
    readonly?: boolean;
    fileMustExist?: boolean;
  }
  const Database: new (path: string, options?: Options) => Database;
  export default Database;
}
