import Foundation
import MDMCore
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import Testing

/// Two winmdm servers on one PostgreSQL database, as two instances behind a load balancer: a device enrolled through
/// one is managed through the other, one OMA-DM session may alternate between them, and the device limit holds
/// across both.
@Suite(.enabled(if: postgresEnabled, "no PostgreSQL server (install postgresql, or set WINMDM_TEST_POSTGRES_URL)"))
struct TwoInstanceTests {
    @Test func enrollOnOneManageOnTheOther() async throws {
        let url = try ScratchPostgres.database()
        let a = try await TestServer.make(databaseURL: url)
        // The second instance shares the database and the device CA (both read them from the same data directory in
        // a real deployment).
        let b = try await TestServer.make(databaseURL: url, sharing: a)
        try await a.addUser("two@winmdm.test")
        let id = try await ManagementServiceTests.enrolled(a, "two@winmdm.test")
        let deviceID = try #require(try await b.store.enrollment(id: id.entDMID)).deviceID
        let ma = ManagementServiceTests.service(a), mb = ManagementServiceTests.service(b)

        // Queued through instance A's admin service, sent by instance B, answered to instance A.
        let cmd = try await a.admin.queueCommand(id.entDMID, .raw(verb: "Get", target: "./DevDetail/SwV", format: nil, data: nil), providerID: "winmdm")
        let first = try SyncMLMessage(bytes: await mb.handle(ManagementServiceTests.checkIn(deviceID, session: "9"),
                                                            clientCertificate: id.certificateDER, RequestMetadata()).body)
        let get = try #require(first.commands.first { $0.name == "Get" })
        let answer = ManagementServiceTests.checkIn(deviceID, session: "9", msg: "2", commands: [
            SyncMLCommand(name: "Status", cmdID: "1", data: "200", msgRef: first.header.msgID, cmdRef: "0", cmd: "SyncHdr"),
            SyncMLCommand(name: "Status", cmdID: "2", data: "200", msgRef: first.header.msgID, cmdRef: get.cmdID, cmd: "Get"),
            SyncMLCommand(name: "Results", cmdID: "3", items: (get.items).map { SyncMLItem(source: $0.target, format: "chr", data: "x") },
                          msgRef: first.header.msgID, cmdRef: get.cmdID),
        ])
        let second = try SyncMLMessage(bytes: await ma.handle(answer, clientCertificate: id.certificateDER, RequestMetadata()).body)
        #expect(second.header.msgID == "2", "the reply's MsgID follows the client's, whichever instance answers")
        let done = try #require(try await a.store.command(id: cmd.id))
        #expect(done.state != .queued && done.state != .sent, "the answer reached the command queued on the other instance")
        #expect(try await b.store.enrollment(id: id.entDMID)?.lastSeenAt != nil)
        await b.close()
        await a.close()
    }
}
