import Foundation
import Imaging
@testable import Lesions
import Testing

@Suite struct PointGridTests {
    /// The point the grid returns must be as near as the nearest of an exhaustive search, for
    /// queries inside its box, just outside it and far from it.
    @Test func nearestMatchesExhaustiveSearch() {
        // A low-discrepancy spread of points in a 100 x 50 x 90 mm box.
        let points = (1...500).map { index in
            let n = Double(index)
            return Vector3(-60 + 100 * (n * 0.6180339887).truncatingRemainder(dividingBy: 1),
                           -20 + 50 * (n * 0.7548776662).truncatingRemainder(dividingBy: 1),
                           90 * (n * 0.5698402910).truncatingRemainder(dividingBy: 1))
        }
        let grid = PointGrid(points, cellSize: 8)
        // A single point, and points all in one place: a box of one cell.
        for degenerate in [[Vector3(3, -4, 5)], [Vector3](repeating: Vector3(-7, 2, 9), count: 20)] {
            for query in [Vector3(3, -4, 5), Vector3(100, 0, -50), Vector3(-7, 2, 9.5)] {
                #expect(PointGrid(degenerate, cellSize: 8).nearest(to: query) == degenerate[0])
            }
        }
        for x in stride(from: -200.0, through: 150, by: 23) {
            for y in stride(from: -100.0, through: 120, by: 17) {
                for z in stride(from: -100.0, through: 200, by: 19) {
                    let query = Vector3(x, y, z)
                    let exhaustive = points.map { length($0 - query) }.min()!
                    #expect(length(grid.nearest(to: query) - query) == exhaustive, "query \(query)")
                }
            }
        }
    }
}
