// Index-to-world transforms checked against positions worked out by hand.
import Testing
@testable import Imaging

struct GeometryTests {
    /// Rows along +y, columns along -x, slices along +z (a 90 degree rotation about z).
    static let grid = Geometry(size: VolumeSize(4, 3, 2), spacing: Vector3(0.5, 2, 3), origin: Vector3(10, 20, 30),
                               direction: Matrix3(columns: Vector3(0, 1, 0), Vector3(-1, 0, 0), Vector3(0, 0, 1)))

    @Test func worldOfIndexByHand() {
        // (10, 20, 30) + 3 * 0.5 * (0,1,0) + 2 * 2 * (-1,0,0) + 1 * 3 * (0,0,1) = (6, 21.5, 33).
        #expect(Self.grid.world(atIndex: Vector3(3, 2, 1)) == Vector3(6, 21.5, 33))
    }

    @Test func indexOfWorldInvertsWorld() {
        let index = Self.grid.index(atWorld: Vector3(6, 21.5, 33))
        #expect(length(index - Vector3(3, 2, 1)) < 1e-12)
        let fractional = Self.grid.index(atWorld: Vector3(9, 20.25, 31.5))
        #expect(length(fractional - Vector3(0.5, 0.5, 0.5)) < 1e-12)
    }

    @Test func rasAffineFlipsXAndY() {
        // NIfTI RAS: the x and y rows of the LPS matrix and origin change sign.
        let affine = Self.grid.rasAffine
        #expect(affine[0] == [0, 2, 0, -10])
        #expect(affine[1] == [-0.5, 0, 0, -20])
        #expect(affine[2] == [0, 0, 3, 30])
        let back = Geometry(rasAffine: affine, size: Self.grid.size)
        #expect(back == Self.grid)
    }

    @Test func matrixInverseAndDeterminant() throws {
        let matrix = Matrix3(rows: Vector3(2, 0, 1), Vector3(0, 3, 0), Vector3(1, 0, 1))
        // det = 2 * 3 * 1 - 1 * 3 * 1 = 3.
        #expect(matrix.determinant == 3)
        let inverse = try #require(matrix.inverse)
        let product = matrix * inverse
        for row in 0..<3 { for column in 0..<3 { #expect(abs(product[row, column] - (row == column ? 1 : 0)) < 1e-12) } }
        #expect(Matrix3(rows: Vector3(1, 2, 3), Vector3(2, 4, 6), Vector3(0, 0, 1)).inverse == nil)
    }

    @Test func coveredShareByHand() {
        // A 10 mm cube of 1 mm voxels whose box runs from -0.5 to 9.5 mm on each axis.
        let cube = Geometry(size: VolumeSize(10, 10, 10), spacing: Vector3(1, 1, 1))
        // Half of it along x: the box from -0.5 to 4.5 mm.
        #expect(abs(cube.coveredShare(by: Geometry(size: VolumeSize(5, 10, 10), spacing: Vector3(1, 1, 1))) - 0.5) < 1e-12)
        // All of it at 2 mm: centres from 0.5 to 8.5 mm, edges from -0.5 to 9.5 mm.
        #expect(abs(cube.coveredShare(by: Geometry(size: VolumeSize(5, 5, 5), spacing: Vector3(2, 2, 2), origin: Vector3(0.5, 0.5, 0.5))) - 1) < 1e-12)
        // A quarter turn about z of a box 10 x 4 x 10 mm centred on the cube's centre line: it
        // spans 4 mm of x and all of y and z, so 0.4.
        let turned = Geometry(size: VolumeSize(10, 4, 10), spacing: Vector3(1, 1, 1), origin: Vector3(6, 0, 0),
                              direction: Matrix3(columns: Vector3(0, 1, 0), Vector3(-1, 0, 0), Vector3(0, 0, 1)))
        #expect(abs(cube.coveredShare(by: turned) - 0.4) < 1e-12)
        // Beside it: nothing.
        #expect(cube.coveredShare(by: Geometry(size: VolumeSize(10, 10, 10), spacing: Vector3(1, 1, 1), origin: Vector3(20, 0, 0))) == 0)
    }
}
