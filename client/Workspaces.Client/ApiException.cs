namespace Workspaces.Client;

/// <summary>The daemon answered with a problem; Message is the sentence a person can act on.</summary>
public sealed class ApiException(Problem problem) : Exception(problem.Detail)
{
    public Problem Problem { get; } = problem;
    public int Status => Problem.Status;
}
