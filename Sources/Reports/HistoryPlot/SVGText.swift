// Text, numbers and colours as the history plot writes them into SVG.
import Foundation

/// Returns `text` with the five XML special characters replaced by entities, safe in element
/// content and in quoted attributes. Characters that XML 1.0 forbids even as entities (control
/// characters other than tab, line feed and carriage return, and U+FFFE, U+FFFF) become U+FFFD.
func xmlEscaped(_ text: String) -> String {
    var escaped = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&apos;"
        case "\t", "\n", "\r": escaped.unicodeScalars.append(scalar)
        case "\u{0}"..<"\u{20}", "\u{FFFE}", "\u{FFFF}": escaped += "\u{FFFD}"
        default: escaped.unicodeScalars.append(scalar)
        }
    }
    return escaped
}

/// Formats a coordinate with two decimals, a hundredth of an SVG pixel.
func svgNumber(_ value: Double) -> String {
    String(format: "%.2f", value)
}

/// Returns the colour of series `index` as #RRGGBB: the ten colours of Matplotlib's "tab10"
/// palette first, then hues a golden angle (about 137.5 degrees) apart, so neighbours differ.
func seriesColour(_ index: Int) -> String {
    let tab10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    if index < tab10.count { return tab10[index] }

    // HSV with saturation 0.7 and value 0.75 to RGB.
    let hue = (Double(index - tab10.count) * 137.507_764).truncatingRemainder(dividingBy: 360) / 60
    let value = 0.75
    let chroma = value * 0.7
    let secondary = chroma * (1 - abs(hue.truncatingRemainder(dividingBy: 2) - 1))
    let (red, green, blue): (Double, Double, Double)
    switch Int(hue) {
    case 0: (red, green, blue) = (chroma, secondary, 0)
    case 1: (red, green, blue) = (secondary, chroma, 0)
    case 2: (red, green, blue) = (0, chroma, secondary)
    case 3: (red, green, blue) = (0, secondary, chroma)
    case 4: (red, green, blue) = (secondary, 0, chroma)
    default: (red, green, blue) = (chroma, 0, secondary)
    }
    let minimum = value - chroma
    return String(format: "#%02x%02x%02x", Int(((red + minimum) * 255).rounded()),
                  Int(((green + minimum) * 255).rounded()), Int(((blue + minimum) * 255).rounded()))
}
