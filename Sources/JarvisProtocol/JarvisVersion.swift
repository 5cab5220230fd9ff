/// The version of Jarvis's programs: jarvisd's and jarvisctl's `--version`, and the names
/// they give each other in `hello`.
public enum JarvisVersion {
    /// The release, as `MAJOR.MINOR.PATCH`.
    public static let current = "0.6.0"
}
