// One patient's abdominal anatomy, drawn from a random source and built from analytic shapes
// in the patient's own frame: LPS millimetres, the liver dome near z = +60.
import Foundation
import Imaging

/// The organs and vessels of one patient.
struct Anatomy: Sendable {
    /// Outer body outline (an elliptic cylinder, as x and y radii) and the thickness of the
    /// subcutaneous fat and the abdominal wall muscle inside it, in mm.
    let bodyRadii: (x: Double, y: Double)
    let fatThickness: Double
    let muscleThickness: Double
    /// The liver: a union of lobes.
    let liverLobes: [Ellipsoid]
    let spleen: Ellipsoid
    let kidneys: [Ellipsoid]
    let stomach: Ellipsoid
    let stomachGas: Ellipsoid
    let bowelGas: [Ellipsoid]
    let vertebralBody: (centre: Vector3, radius: Double)
    let ribs: [Tube]
    let aorta: Tube
    let inferiorVenaCava: Tube
    let portalVeins: [Tube]
    let hepaticVeins: [Tube]

    init(random: inout RandomSource) {
        bodyRadii = (random.uniform(150...175), random.uniform(105...125))
        fatThickness = random.uniform(10...25)
        muscleThickness = random.uniform(8...14)

        // The liver sits in the right upper abdomen (negative x in LPS) and varies in size and place.
        let scale = random.uniform(0.85...1.15)
        let shift = Vector3(random.uniform(-10...10), random.uniform(-8...8), random.uniform(-10...10))
        let right = Ellipsoid(centre: Vector3(-60, 5, 20) + shift, radii: Vector3(75, 70, 65) * scale,
                              rotation: rotation(aboutZ: random.uniform(-10...10)))
        let left = Ellipsoid(centre: Vector3(15, -25, 40) + shift, radii: Vector3(55, 40, 35) * scale,
                             rotation: rotation(aboutZ: random.uniform(-20...5)))
        let caudate = Ellipsoid(centre: Vector3(-15, 30, 25) + shift, radii: Vector3(25, 22, 30) * scale)
        liverLobes = [right, left, caudate]

        spleen = Ellipsoid(centre: Vector3(95, 45, 35) + Vector3(random.uniform(-8...8), random.uniform(-8...8), 0),
                           radii: Vector3(30, 55, 45) * random.uniform(0.8...1.2), rotation: rotation(aboutZ: 35))
        kidneys = [
            Ellipsoid(centre: Vector3(-65, 60, -45), radii: Vector3(28, 25, 55), rotation: rotation(aboutZ: -20, aboutX: 10)),
            Ellipsoid(centre: Vector3(65, 60, -35), radii: Vector3(28, 25, 55), rotation: rotation(aboutZ: 20, aboutX: 10)),
        ]
        stomach = Ellipsoid(centre: Vector3(55, -20, 35), radii: Vector3(45, 35, 40), rotation: rotation(aboutZ: 30))
        stomachGas = Ellipsoid(centre: Vector3(55, -42, 50), radii: Vector3(30, 12, 18))
        bowelGas = (0..<Int(random.uniform(2...5))).map { _ in
            Ellipsoid(centre: Vector3(random.uniform(-60...80), random.uniform(-70...(-20)), random.uniform(-120...(-60))),
                      radii: Vector3(random.uniform(8...20), random.uniform(6...12), random.uniform(8...15)))
        }

        vertebralBody = (Vector3(0, 75, 0), 20)
        ribs = stride(from: -40.0, through: 100, by: 35).flatMap { z -> [Tube] in
            [-1.0, 1.0].map { side in
                let points = stride(from: 0.0, through: 150, by: 15).map { degrees -> Vector3 in
                    let angle = degrees * .pi / 180
                    return Vector3(side * 140 * sin(angle), 80 * cos(angle) + 10, z - degrees * 0.2)
                }
                return Tube(points: points, radius: 5)
            }
        }
        aorta = Tube(points: [Vector3(15, 48, 150), Vector3(12, 45, -150)], radius: random.uniform(10...13))
        let ivcX = -22 + shift.x * 0.3
        inferiorVenaCava = Tube(points: [Vector3(ivcX, 35, 150), Vector3(ivcX, 38, -150)], radius: random.uniform(9...12))

        // The portal vein enters at the hilum and branches towards the lobes.
        let hilum = Vector3(-25, 15, 5) + shift
        var branches = [Tube(points: [Vector3(-5, 35, -40) + shift, hilum], radius: 7)]
        for lobe in liverLobes {
            for _ in 0..<3 {
                let target = lobe.centre + Vector3(random.uniform(-0.6...0.6) * lobe.radii.x, random.uniform(-0.6...0.6) * lobe.radii.y,
                                                   random.uniform(-0.6...0.6) * lobe.radii.z)
                let middle = (hilum + target) / 2 + Vector3(random.uniform(-8...8), random.uniform(-8...8), random.uniform(-8...8))
                branches.append(Tube(points: [hilum, middle, target], radius: random.uniform(2.5...4.5)))
            }
        }
        portalVeins = branches
        // Three hepatic veins run from the liver periphery up to the inferior vena cava.
        let confluence = Vector3(ivcX, 30, 70 + shift.z)
        hepaticVeins = [Vector3(-110, 0, 30), Vector3(-50, -30, 45), Vector3(20, -35, 50)].map { start in
            Tube(points: [start + shift, (start + shift + confluence) / 2 + Vector3(0, 0, 10), confluence], radius: random.uniform(3...5))
        }
    }

    /// Returns whether a point lies in the liver parenchyma (vessels included).
    func isLiver(_ point: Vector3) -> Bool {
        liverLobes.contains { $0.contains(point) }
    }

    /// Returns the tissue at a point; lesions are added on top by the renderer.
    func tissue(at point: Vector3) -> Tissue {
        let body = (point.x * point.x) / (bodyRadii.x * bodyRadii.x) + (point.y * point.y) / (bodyRadii.y * bodyRadii.y)
        if body > 1 { return .air }
        let fatInner = (bodyRadii.x - fatThickness, bodyRadii.y - fatThickness)
        if (point.x * point.x) / (fatInner.0 * fatInner.0) + (point.y * point.y) / (fatInner.1 * fatInner.1) > 1 { return .fat }

        for rib in ribs where rib.contains(point) { return .corticalBone }
        let wallInner = (fatInner.0 - muscleThickness, fatInner.1 - muscleThickness)
        if (point.x * point.x) / (wallInner.0 * wallInner.0) + (point.y * point.y) / (wallInner.1 * wallInner.1) > 1 { return .muscle }

        let spine = length(Vector3(point.x, point.y, 0) - Vector3(vertebralBody.centre.x, vertebralBody.centre.y, 0))
        if spine <= vertebralBody.radius { return spine > vertebralBody.radius - 3 ? .corticalBone : .trabecularBone }
        if aorta.contains(point) { return .aorta }
        if inferiorVenaCava.contains(point) { return .inferiorVenaCava }

        if isLiver(point) {
            if hepaticVeins.contains(where: { $0.contains(point) }) { return .hepaticVein }
            if portalVeins.contains(where: { $0.contains(point) }) { return .portalVein }
            return .liver
        }
        if portalVeins[0].contains(point) { return .portalVein }
        if spleen.contains(point) { return .spleen }
        for kidney in kidneys where kidney.contains(point) { return .kidneyCortex }
        if stomachGas.contains(point) { return .bowelGas }
        if stomach.contains(point) { return stomach.level(point) > 0.75 ? .stomachWall : .water }
        for gas in bowelGas where gas.contains(point) { return .bowelGas }
        // Psoas and paraspinal muscle beside the spine; the rest of the cavity is visceral fat.
        if abs(point.x) < 55 && point.y > 55 { return .muscle }
        return .fat
    }
}
