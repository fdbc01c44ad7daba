import ArgumentParser
import Foundation
import MDMStorageSQL

/// `winmdm backup FILE`: a consistent copy of the SQLite database while the server runs.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite database to a new file, consistently, while the server runs (PostgreSQL: use pg_dump).")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The backup file to create (it must not exist).") var file: String

    func run() async throws {
        let config = try ResolvedConfiguration.resolve(common)
        guard config.databaseURL == nil else {
            throw ValidationError("This installation uses PostgreSQL; back it up with pg_dump, for example: pg_dump -Fc -f winmdm.dump '<database URL>'.")
        }
        guard FileManager.default.fileExists(atPath: config.databasePath) else {
            throw ValidationError("There is no database at \(config.databasePath); give --data-dir of an installation.")
        }
        let target = URL(fileURLWithPath: file).standardizedFileURL.path
        let store = try await SQLStore.openSQLite(path: config.databasePath, readers: 1)
        do {
            try await store.backup(to: target)
            try await store.close()
        } catch {
            try? await store.close()
            throw ValidationError("The backup failed: \(error)")
        }
        chmod(target, 0o600)
        print("Backed up \(config.databasePath) to \(target). To restore: stop winmdm, copy the file to \(config.databasePath), start winmdm.")
    }
}

/// `winmdm migrate-database --to postgres://…`: copies an installation's database into an empty PostgreSQL one.
struct MigrateDatabase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate-database",
        abstract: "Copy this installation's database into an empty one (SQLite to PostgreSQL, or back), checking every table's row count.")
    @OptionGroup var common: CommonOptions
    @Option(help: "The database to copy into: postgres://user:password@host:5432/db, or a SQLite file path that does not exist yet.")
    var to: String

    func run() async throws {
        let config = try ResolvedConfiguration.resolve(common)
        if config.databaseURL == nil, !FileManager.default.fileExists(atPath: config.databasePath) {
            throw ValidationError("There is no database at \(config.databasePath); give --data-dir of an installation.")
        }
        let isPostgres = to.hasPrefix("postgres://") || to.hasPrefix("postgresql://")
        if !isPostgres, FileManager.default.fileExists(atPath: to) {
            throw ValidationError("\(to) exists; give a PostgreSQL URL or a new SQLite file.")
        }
        if to == config.databaseLocation { throw ValidationError("--to is the database this installation already uses.") }
        let source = try await SQLStore.open(config.databaseLocation)
        let target: SQLStore
        do { target = try await SQLStore.open(to) } catch {
            try? await source.close()
            throw ValidationError("Cannot open --to: \(error)")
        }
        do {
            let counts = try await source.copy(to: target)
            try await source.close()
            try await target.close()
            print(Table.render(["TABLE", "ROWS"], counts.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }))
            print("Copied \(source.location) to \(target.location); every table has the same number of rows.")
            if isPostgres {
                print("Start winmdm with --database-url (or WINMDM_DATABASE_URL, or databaseURL in winmdm.json) set to it; keep the data directory (certificates and secrets stay there).")
            }
        } catch {
            try? await source.close()
            try? await target.close()
            throw ValidationError("The copy failed and no rows were committed to the target (its empty schema may remain): \(error)")
        }
    }
}
