// Rows returned by a statement, copied out of libpq's result so they outlive it.
import CLibPQ

/// The rows of one statement's result, every value in PostgreSQL's text output format.
public struct QueryResult: Sendable {
    public let columns: [String]
    public let rows: [[String?]]
    /// The number of rows a command such as UPDATE affected.
    public let affectedRows: Int

    init(copying result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return nil }
                return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            }
        }
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// The value of `column` in `row`, or nil for NULL.
    public func value(_ row: Int, _ column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else {
            preconditionFailure("column \(column) is not in the result (\(columns))")
        }
        return rows[row][index]
    }

    /// The first column of the first row, or nil when there is no row or it is NULL.
    public var scalar: String? { rows.first?.first ?? nil }
}
