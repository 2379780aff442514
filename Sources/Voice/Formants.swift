import Foundation

/// The first two formants of a window, from linear prediction (LPC): the vocal tract's resonances,
/// which say how open the jaw is (F1) and how spread or rounded the lips are (F2), in any language.
///
/// The autocorrelation comes from the window's power spectrum (pre-emphasised), Levinson-Durbin
/// gives the all-pole model, and its envelope is searched for peaks.
enum Formants {
    static let order = 12

    /// F1 and F2 in Hz, or 0 where no resonance stands out (silence, noise).
    static func estimate(power bins: [Float], sampleRate: Double) -> (f1: Double, f2: Double) {
        // Only the spectrum below 5 kHz is modelled (as if sampled at 10 kHz): formants above it
        // do not matter here, and a smaller model does not chase single harmonics.
        let band = min(sampleRate / 2, 5000)
        let n = Int(Double(bins.count - 1) * band / (sampleRate / 2))
        let sampleRate = 2 * band
        guard n > order else { return (0, 0) }
        // Autocorrelation r[k] = sum over the spectrum of P(w) cos(k w), after pre-emphasis.
        var weighted = [Double](repeating: 0, count: n + 1)
        var total = 0.0
        for k in 0...n {
            let w = Double.pi * Double(k) / Double(n)
            weighted[k] = Double(bins[k]) * (1 + 0.97 * 0.97 - 2 * 0.97 * cos(w))
            total += weighted[k]
        }
        guard total > 1e-9 else { return (0, 0) }
        var r = [Double](repeating: 0, count: order + 1)
        for lag in 0...order {
            var sum = 0.0
            for k in 0...n { sum += weighted[k] * cos(Double.pi * Double(k * lag) / Double(n)) }
            r[lag] = sum
        }
        r[0] *= 1.0001  // a touch of white noise keeps the recursion stable
        // Levinson-Durbin: a[0] = 1, prediction error filter A(z) = sum a[k] z^-k.
        var a = [Double](repeating: 0, count: order + 1)
        a[0] = 1
        var error = r[0]
        for i in 1...order {
            var acc = r[i]
            for j in 1..<i { acc += a[j] * r[i - j] }
            let k = -acc / error
            let previous = a
            for j in 1..<i { a[j] = previous[j] + k * previous[i - j] }
            a[i] = k
            error *= 1 - k * k
            guard error > 0 else { return (0, 0) }
        }
        // The envelope 1/|A(e^jw)|^2 every 20 Hz up to 3.5 kHz; formants are its peaks.
        let step = 20.0
        let frequencies = stride(from: 150.0, through: 3500.0, by: step).map { $0 }
        let envelope = frequencies.map { f -> Double in
            let w = 2 * Double.pi * f / sampleRate
            var re = 0.0
            var im = 0.0
            for k in 0...order {
                re += a[k] * cos(w * Double(k))
                im -= a[k] * sin(w * Double(k))
            }
            return 1 / max(re * re + im * im, 1e-12)
        }
        var peaks: [Double] = []
        for i in 1..<(envelope.count - 1) where envelope[i] > envelope[i - 1] && envelope[i] >= envelope[i + 1] {
            peaks.append(frequencies[i])
        }
        guard let f1 = peaks.first(where: { $0 >= 200 && $0 <= 1000 }) else { return (0, 0) }
        let f2 = peaks.first { $0 > f1 + 150 && $0 >= 700 && $0 <= 3000 } ?? 0
        return (f1, f2)
    }
}
